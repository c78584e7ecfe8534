// The freezelint.* settings: what the extension uses itself, and what it hands the server
// (initializationOptions, workspace/configuration, workspace/didChangeConfiguration).
import * as os from 'os';
import * as vscode from 'vscode';

export const SECTION = 'freezelint';

export type LintOn = 'type' | 'save';

/** Settings the extension itself acts on; changing one restarts the server. */
export interface ClientSettings {
  enable: boolean;
  interpreter: string[];
  args: string[];
  lintOn: LintOn;
}

/** Settings the server reads (freezelint/lsp/settings.py). */
export interface ServerSettings {
  model: string | null;
  modelArgs: Record<string, unknown>;
  select: string[] | null;
  ignore: string[];
  trustLocalModels: boolean;
  debounce: number;
}

// The server lints on open and save at once, and on change after `debounce` ms. It has no
// lint-on-save switch, so "save" stops the client from pulling on change and gives pushed
// (notebook) diagnostics a debounce that a save always cuts short.
const SAVE_ONLY_DEBOUNCE_MS = 24 * 60 * 60 * 1000;

/** The settings whose change needs a new server process. */
export const RESTART_KEYS = ['enable', 'interpreter', 'args', 'lintOn'].map((k) => `${SECTION}.${k}`);

function config(resource?: vscode.Uri): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(SECTION, resource);
}

export function clientSettings(resource?: vscode.Uri): ClientSettings {
  const c = config(resource);
  const folder = resource ? vscode.workspace.getWorkspaceFolder(resource) : vscode.workspace.workspaceFolders?.[0];
  return {
    enable: c.get<boolean>('enable', true),
    interpreter: c.get<string[]>('interpreter', []).map((part) => expand(part, folder)),
    args: c.get<string[]>('args', []).map((part) => expand(part, folder)),
    lintOn: c.get<LintOn>('lintOn', 'type') === 'save' ? 'save' : 'type',
  };
}

export function serverSettings(resource?: vscode.Uri): ServerSettings {
  const c = config(resource);
  const select = c.get<string[]>('select', []);
  const debounce = c.get<number>('debounce', 150);
  return {
    model: c.get<string>('model', '').trim() || null,
    modelArgs: c.get<Record<string, unknown>>('modelArgs', {}),
    select: select.length > 0 ? select : null,
    ignore: c.get<string[]>('ignore', []),
    trustLocalModels: c.get<boolean>('trustLocalModels', false),
    debounce: c.get<LintOn>('lintOn', 'type') === 'save' ? SAVE_ONLY_DEBOUNCE_MS : Math.max(0, debounce),
  };
}

/** `${workspaceFolder}`, `${userHome}` and a leading `~` in a path setting. */
function expand(value: string, folder: vscode.WorkspaceFolder | undefined): string {
  let out = value.replace(/\$\{userHome\}/g, os.homedir());
  if (folder) {
    out = out.replace(/\$\{workspaceFolder\}/g, folder.uri.fsPath);
  }
  return out.startsWith('~/') ? os.homedir() + out.slice(1) : out;
}
