import { api, unwrap } from '../../../api/client';
import { useRequest } from '../../../hooks/use-request';
import { useSignedIn } from '../../../session/session-context';

/** Organisation names by id (the staff user's visible organisations), for the rules' owner column. */
export function useOrgNames(): (id: string) => string {
  const { can } = useSignedIn();
  const allowed = can('org:read');
  const orgs = useRequest(async () => (allowed ? unwrap(api.GET('/api/v1/organisations')) : []), [allowed]);
  return (id) => orgs.data?.find((o) => o.id === id)?.name ?? id;
}
