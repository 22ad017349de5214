import { Flex, Typography } from 'antd';
import type { ReactNode } from 'react';

interface PageContainerProps {
  title: ReactNode;
  extra?: ReactNode;
  children: ReactNode;
}

/** The page frame every console page uses: a title row with actions, then the content. */
export function PageContainer({ title, extra, children }: PageContainerProps) {
  return (
    <div className="page-container">
      <Flex className="page-header" justify="space-between" align="center" wrap gap={12}>
        <Typography.Title level={4} style={{ margin: 0 }}>
          {title}
        </Typography.Title>
        {extra ? (
          <Flex gap={8} wrap>
            {extra}
          </Flex>
        ) : null}
      </Flex>
      {children}
    </div>
  );
}
