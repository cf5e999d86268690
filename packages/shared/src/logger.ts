import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

// Paths that can carry credentials; pino replaces their values before anything is written.
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.client_secret',
  '*.access_token',
  '*.refresh_token',
  '*.code',
  '*.code_verifier',
  '*.token',
  '*.registration_access_token',
];

export function createLogger(name: string, level: string = process.env.LOG_LEVEL ?? 'info', options: LoggerOptions = {}): Logger {
  return pino({
    name,
    level,
    redact: { paths: REDACT, censor: '[redacted]' },
    base: { service: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...options,
  });
}
