import { LogoutOutlined, UserOutlined } from '@ant-design/icons';
import { Button, Flex, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router-dom';
import { useSession, useSignedIn } from '../../session/session-context';

export function UserMenu({ compact }: { compact: boolean }) {
  const { t } = useTranslation();
  const { me } = useSignedIn();
  const { signOut } = useSession();
  const navigate = useNavigate();
  return (
    <Flex align="center" gap={8}>
      {compact ? null : (
        <Typography.Text data-testid="current-user" ellipsis style={{ maxWidth: 220 }}>
          <UserOutlined /> {me.display_name} · {t(`role.${me.role}`)}
        </Typography.Text>
      )}
      <Button
        icon={<LogoutOutlined />}
        data-testid="logout"
        onClick={() => void signOut().then(() => navigate('/login', { replace: true }))}
      >
        {compact ? null : t('logout')}
      </Button>
    </Flex>
  );
}
