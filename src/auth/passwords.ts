/**
 * Passwords: the rules a password must meet, the {@link PasswordHasher}
 * interface, and the bcryptjs default.
 *
 * bcrypt reads only the first 72 bytes of a password and bcryptjs ignores the
 * rest without a word. This library never truncates: a password longer than
 * 72 bytes in UTF-8 is refused with `WEAK_PASSWORD`.
 */
import bcrypt from 'bcryptjs';
import { TenancyError } from '../errors.js';
import { BcryptWorkerPool } from './worker-pool.js';

/** Hashes and checks passwords. Plug in a native bcrypt or argon2 by implementing it. */
export interface PasswordHasher {
  /** Hashes a password (already validated and NFC-normalized). */
  hash(password: string): Promise<string>;
  /** Whether `password` matches `hash`. Must take as long for a wrong password as for a right one. */
  verify(password: string, hash: string): Promise<boolean>;
  /** Releases resources (worker threads). */
  close?(): Promise<void>;
}

/** The password rules, validated once at the boundary. */
export interface PasswordRules {
  /** Fewest characters (Unicode code points). Default 8. */
  minLength: number;
  /** Most characters. Default 128 (and never more than 72 bytes of UTF-8). */
  maxLength: number;
}

/** bcrypt's input limit, in bytes. */
export const BCRYPT_MAX_BYTES = 72;

/**
 * Validates a password and returns its NFC form, the form that is hashed.
 *
 * @throws {@link TenancyError} `INVALID_INPUT` for a non-string, `WEAK_PASSWORD` for one that breaks the rules.
 */
export function normalizePassword(input: unknown, rules: PasswordRules): string {
  if (typeof input !== 'string') {
    throw new TenancyError('INVALID_INPUT', 'The password must be a string', { details: { field: 'password' } });
  }
  const password = input.normalize('NFC');
  const length = [...password].length;
  const weak = (message: string) => new TenancyError('WEAK_PASSWORD', message, { details: { field: 'password' } });
  if (length < rules.minLength) throw weak(`The password must have at least ${rules.minLength} characters`);
  if (length > rules.maxLength) throw weak(`The password must have at most ${rules.maxLength} characters`);
  if (Buffer.byteLength(password, 'utf8') > BCRYPT_MAX_BYTES) {
    throw weak(`The password must be at most ${BCRYPT_MAX_BYTES} bytes in UTF-8 (bcrypt reads no more)`);
  }
  return password;
}

/** Options of {@link bcryptHasher}. */
export interface BcryptHasherOptions {
  /** The bcrypt cost (work factor). Default 12; below 10 only with `allowInsecureCostForTests`. */
  cost?: number;
  /** `'workers'` (default): a pool of worker threads sized to the cores; `'in-process'`: the main thread. */
  mode?: 'workers' | 'in-process';
  /** Worker threads in the pool. Default: the number of cores. */
  workers?: number;
  /** Lets tests use a cost from 4 to 9. Never set it in production. */
  allowInsecureCostForTests?: boolean;
}

/**
 * The default hasher: bcryptjs, off the main thread.
 *
 * @example
 * ```ts
 * const hasher = bcryptHasher({ cost: 12 });
 * ```
 * @throws {@link TenancyError} `INVALID_OPTIONS` for a cost below 10 (without the test option) or above 15.
 */
export function bcryptHasher(options: BcryptHasherOptions = {}): PasswordHasher & { readonly cost: number } {
  const cost = options.cost ?? 12;
  const floor = options.allowInsecureCostForTests ? 4 : 10;
  if (!Number.isInteger(cost) || cost < floor || cost > 15) {
    throw new TenancyError('INVALID_OPTIONS', `The bcrypt cost must be an integer from ${floor} to 15`, {
      details: { field: 'cost' },
    });
  }
  if (options.mode === 'in-process') {
    return {
      cost,
      hash: (password) => bcrypt.hash(password, cost),
      verify: (password, hash) => bcrypt.compare(password, hash),
    };
  }
  const pool = new BcryptWorkerPool(options.workers);
  return {
    cost,
    hash: async (password) => (await pool.run({ op: 'hash', password, cost })) as string,
    verify: async (password, hash) => (await pool.run({ op: 'compare', password, hash })) as boolean,
    close: () => pool.close(),
  };
}
