/** The form of every id the library hands out: an ObjectId as 24 lowercase hex digits. */
export const HEX_ID = /^[0-9a-f]{24}$/;

/** Whether `value` is an id the library could have handed out. */
export function isHexId(value: unknown): value is string {
  return typeof value === 'string' && HEX_ID.test(value);
}
