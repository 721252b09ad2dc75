// The streaming subsystem's surface: the server the agent starts, and the Status shapes its clients read.
export { StreamingServer, type ContainerLookup, type StreamingServerOptions } from './streaming-server.js';
export { StreamingError, type Status, type StreamingErrorCode } from './status.js';
export { REMOTE_COMMAND_PROTOCOLS, V4_PROTOCOL, V5_PROTOCOL } from './remote-command.js';
