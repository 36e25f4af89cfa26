/** Files in: the intake's public face (see intake.ts). Knows nothing of discord.js. */
export { fetchAttachments, refusalText, type FetchAttachmentsOptions } from './intake.js';
export { DEFAULT_FILE_LIMITS, humanBytes, type FileLimits } from './limits.js';
export { sanitiseFileName, uniqueFileName } from './names.js';
export { DISCORD_CDN_ORIGINS, isAllowedAttachmentUrl, parseOrigin } from './origins.js';
export { ACCEPTED_TYPES_TEXT } from './classify.js';
export type { AttachmentRef, FileKind, FileRefusal, IncomingFile, Intake, OutgoingFile } from './types.js';
