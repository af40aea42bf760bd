/**
 * Imported first by bench/child.ts, so it runs before the agent's modules load: the same young-generation setting
 * agent/main.ts applies before any command loads its modules (agent/memory.ts).
 */
import { keepYoungGenerationSmall } from '#agent/memory';

keepYoungGenerationSmall();
