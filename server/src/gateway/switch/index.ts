/**
 * The card-switch link (owner: switch part): journal, zone keys, store and forward, staff routes.
 * `createSwitchLink(deps, {url})` is what the gateway composes; the payments engine sees it as its
 * `OffUsAuthorizer`. The message table lives in `protocol.ts` (owner: sim part).
 */
export { createSwitchLink, fieldRef, mapResponseCode, type SwitchLink, type SwitchLinkOptions, type SwitchLinkState, type SwitchLinkStatus } from './link.js';
export { importZmk, keyCheckValues } from './keys.js';
export { switchRoutes } from './routes.js';
export { ownReversalId } from './journal.js';
export { PAN_PURPOSE, SAF_STATES, type SafKind, type SafRow, type SafState, type SwitchTables, type SwitchTxnRow, type SwitchTxnState } from './tables.js';
