export { adaptMcpTool, mcpToolName, renderCallResult, type Adapted, type McpCall, type McpToolOwner } from './adapter.js';
export { McpTools, type McpConnectOptions, type McpServerStatus } from './client.js';
export {
  DEFAULT_MCP_CALL_TIMEOUT_S,
  DEFAULT_MCP_CONNECT_TIMEOUT_S,
  DEFAULT_MCP_RISK,
  loadMcpServers,
  parseMcpServers,
  type McpHttpServerConfig,
  type McpServerConfig,
  type McpServerInput,
  type McpStdioServerConfig,
} from './config.js';
