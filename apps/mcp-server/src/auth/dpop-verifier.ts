import crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import { DpopNonces, DpopVerifier, MemoryDpopReplayStore, RedisDpopReplayStore, type Logger } from '@mcp-gw/shared';
import type { McpServerConfig } from '../config.js';

/**
 * The DPoP proof check of this server: proof ids shared by the replicas through Redis when there is
 * one, and server nonces when DPOP_NONCE=required (one process without a configured secret draws its
 * own; config.ts requires the shared secret with Redis).
 */
export function createDpopVerifier(config: McpServerConfig, redis: Redis | undefined, logger: Logger): DpopVerifier {
  const replay = redis
    ? new RedisDpopReplayStore(redis as never, (err) => logger.warn({ err }, 'redis error (DPoP replay check falls back to memory)'))
    : new MemoryDpopReplayStore();
  const nonces = config.DPOP_NONCE === 'required' ? new DpopNonces({ secret: config.DPOP_NONCE_SECRET ?? crypto.randomBytes(32) }) : undefined;
  return new DpopVerifier({ iatWindowSec: config.DPOP_PROOF_MAX_AGE_SECONDS, replay, nonces });
}
