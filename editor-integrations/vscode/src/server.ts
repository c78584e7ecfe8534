// The language client: `<python> -m freezelint lsp` over stdio.
import * as vscode from 'vscode';
import {
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
} from 'vscode-languageclient/node';
import { Interpreter } from './python';
import { ClientSettings, SECTION, serverSettings } from './settings';

export const CLIENT_ID = 'freezelint'; // the client reads `freezelint.trace.server` by this id

export function createClient(
  interpreter: Interpreter,
  settings: ClientSettings,
  output: vscode.LogOutputChannel,
  cwd: string | undefined,
): LanguageClient {
  const [command, ...rest] = interpreter.command;
  const serverOptions: ServerOptions = {
    command,
    args: [...rest, '-m', 'freezelint', 'lsp', ...settings.args],
    // stdio. No `transport: TransportKind.stdio`: with it the client appends `--stdio`.
    options: { cwd, env: { ...process.env, PYTHONUNBUFFERED: '1' } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'python' },
      { scheme: 'untitled', language: 'python' },
      { notebook: '*', language: 'python' }, // cells; the server declares notebookDocumentSync
    ],
    outputChannel: output,
    traceOutputChannel: output,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    initializationOptions: serverSettings(),
    diagnosticPullOptions: { onChange: settings.lintOn === 'type', onSave: true },
    middleware: {
      workspace: {
        // Answer the server's `workspace/configuration` for "freezelint" with the settings
        // it understands, for the document it asks about.
        configuration: async (params, token, next) => {
          const answer = await next(params, token);
          if (!Array.isArray(answer)) {
            return answer;
          }
          return params.items.map((item, i) =>
            item.section === SECTION
              ? serverSettings(item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined)
              : answer[i],
          );
        },
      },
    },
  };
  return new LanguageClient(CLIENT_ID, 'freezelint', serverOptions, clientOptions);
}
