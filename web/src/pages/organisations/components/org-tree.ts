import type { Organisation, OrgKind } from '../../../api/types';

export interface OrgNode extends Organisation {
  children?: OrgNode[];
}

/** bank → branches → service points, from the flat list the API returns. */
export function buildOrgTree(list: readonly Organisation[]): OrgNode[] {
  const nodes = new Map<string, OrgNode>(list.map((o) => [o.id, { ...o }]));
  const roots: OrgNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.parent_id ? nodes.get(node.parent_id) : undefined;
    if (parent) (parent.children ??= []).push(node);
    else roots.push(node);
  }
  return roots;
}

/** The kind an organisation under `parent` must have (the server enforces the same rule). */
export function childKind(parent: OrgKind | undefined): OrgKind | undefined {
  if (!parent) return 'bank';
  return parent === 'bank' ? 'branch' : parent === 'branch' ? 'service_point' : undefined;
}
