/**
 * Match keys for ISO 8583 over the mux, built from strings so that no codec is needed here:
 * the key is the response MTI, terminal id (field 41) and STAN (field 11). A request computes the
 * MTI of its answer (request MTI + 0x10: 0200 → 0210, 0800 → 0810, 0420 → 0430); a response
 * uses its own. Putting the MTI in the key keeps an 0810 from answering an 0200 that happens to
 * share its STAN.
 */

const MTI = /^[0-9]{4}$/;

/** The third MTI digit is the message function: even = request, advice, notification; odd = their answer. */
export function isRequestMti(mti: string): boolean {
  if (!MTI.test(mti)) throw new RangeError('an MTI is 4 decimal digits');
  return Number(mti[2]) % 2 === 0;
}

/** The MTI of the answer to a request MTI. */
export function responseMti(mti: string): string {
  if (!isRequestMti(mti)) throw new RangeError('not a request MTI');
  return `${mti.slice(0, 2)}${Number(mti[2]) + 1}${mti[3]}`;
}

/** The key under which a response with this MTI, terminal id and STAN is matched. */
export function isoMatchKey(responseMtiValue: string, terminalId: string, stan: string): string {
  return `${responseMtiValue}|${terminalId}|${stan}`;
}

/** The key a request's answer will carry. */
export function isoRequestKey(requestMti: string, terminalId: string, stan: string): string {
  return isoMatchKey(responseMti(requestMti), terminalId, stan);
}
