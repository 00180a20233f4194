import { type DestinationStream, type Logger as PinoLogger, pino } from "pino";

/** A structured JSON logger (pino). */
export type Logger = PinoLogger;

/** Log levels, most to least severe. */
export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

/** Options of `createLogger`. */
export interface LoggerOptions {
  /** The service name, written into every line. */
  name?: string;
  /** Default: "info". */
  level?: LogLevel;
  /** Where lines go. Default: standard output. */
  destination?: DestinationStream;
}

/**
 * Field names whose values are replaced by "[redacted]" wherever they
 * appear, one or two levels deep, so secrets that reach a log call by
 * mistake still stay out of the log.
 */
const redactedFields = [
  "password",
  "passphrase",
  "token",
  "secret",
  "authorization",
  "cookie",
  "privateKey",
  "tlsKey",
  "userData",
  "user_data",
  "cloudInit",
  "cloud_init",
] as const;

const redactPaths = redactedFields.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);

/**
 * Creates the JSON logger services use: ISO timestamps, level names, the
 * service name, and secrets redacted.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? "info",
      ...(options.name ? { name: options.name } : {}),
      redact: { paths: redactPaths, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
