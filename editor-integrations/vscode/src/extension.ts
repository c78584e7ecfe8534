// freezelint for VS Code: starts `<python> -m freezelint lsp` and wires its commands. The
// server does all the work (diagnostics, quick fixes, hover, completion, notebooks).
import * as vscode from 'vscode';
import { DidChangeConfigurationNotification, LanguageClient } from 'vscode-languageclient/node';
import { checkFreezelint, findInterpreter, Interpreter, onPythonChange } from './python';
import { createClient } from './server';
import { clientSettings, RESTART_KEYS, SECTION, serverSettings } from './settings';

const FIX_ALL = vscode.CodeActionKind.SourceFixAll.append('freezelint'); // source.fixAll.freezelint

let output: vscode.LogOutputChannel;
let client: LanguageClient | undefined;
let queue: Promise<void> = Promise.resolve(); // restarts run one after the other

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel('freezelint', { log: true });
  context.subscriptions.push(
    output,
    vscode.commands.registerCommand('freezelint.restart', restart),
    vscode.commands.registerCommand('freezelint.fixAll', fixAll),
    vscode.commands.registerCommand('freezelint.showLogs', () => output.show()),
    vscode.workspace.onDidChangeConfiguration(onConfigurationChange),
  );
  const pythonWatch = await onPythonChange(() => {
    if (clientSettings().interpreter.length === 0) {
      void restart();
    }
  });
  if (pythonWatch) {
    context.subscriptions.push(pythonWatch);
  }
  await restart();
}

export function deactivate(): Promise<void> {
  return stop();
}

function restart(): Promise<void> {
  queue = queue
    .then(stop)
    .then(start)
    .catch((error: unknown) => output.error(`freezelint: ${String(error)}`));
  return queue;
}

async function stop(): Promise<void> {
  const running = client;
  client = undefined;
  if (running) {
    await running.stop().catch((error: unknown) => output.warn(`stopping the server: ${String(error)}`));
  }
}

async function start(): Promise<void> {
  const settings = clientSettings();
  if (!settings.enable) {
    output.info('freezelint.enable is false: the server is not started');
    return;
  }
  const cwd = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const interpreter = await findInterpreter(settings.interpreter);
  output.info(`interpreter: ${interpreter.command.join(' ')} (from ${interpreter.source})`);
  const check = await checkFreezelint(interpreter, cwd);
  if (!check.ok) {
    output.error(`cannot import freezelint: ${check.detail}`);
    void (check.noInterpreter ? reportNoInterpreter(interpreter) : reportMissing(interpreter));
    return;
  }
  output.info(`freezelint ${check.version}: starting the language server`);
  const next = createClient(interpreter, settings, output, cwd);
  try {
    await next.start();
    client = next;
  } catch (error) {
    output.error(`the language server did not start: ${String(error)}`);
    await next.dispose().catch(() => undefined); // no restarts of a server that cannot start
    void vscode.window.showErrorMessage('freezelint: the language server did not start. See the log.', 'Show logs')
      .then((choice) => choice && output.show());
  }
}

async function reportMissing(interpreter: Interpreter): Promise<void> {
  const python = interpreter.command[0];
  const pip = `${/\s/.test(python) ? `"${python}"` : python} -m pip install freezelint`;
  const choice = await vscode.window.showErrorMessage(
    `freezelint is not installed in ${python} (${interpreter.source}). Install it with: ${pip} ` +
      '(or set freezelint.interpreter to a Python that has it), then run "freezelint: Restart Server".',
    'Copy pip command',
    'Show logs',
  );
  if (choice === 'Copy pip command') {
    await vscode.env.clipboard.writeText(pip);
  } else if (choice === 'Show logs') {
    output.show();
  }
}

async function reportNoInterpreter(interpreter: Interpreter): Promise<void> {
  const choice = await vscode.window.showErrorMessage(
    `freezelint: the Python interpreter ${interpreter.command[0]} (${interpreter.source}) was not found. ` +
      'Set freezelint.interpreter to the Python of your project, where freezelint is installed.',
    'Open settings',
  );
  if (choice === 'Open settings') {
    await vscode.commands.executeCommand('workbench.action.openSettings', 'freezelint.interpreter');
  }
}

function onConfigurationChange(event: vscode.ConfigurationChangeEvent): void {
  if (!event.affectsConfiguration(SECTION)) {
    return;
  }
  if (RESTART_KEYS.some((key) => event.affectsConfiguration(key))) {
    void restart();
  } else if (client?.isRunning()) {
    void client.sendNotification(DidChangeConfigurationNotification.type, {
      settings: { [SECTION]: serverSettings() },
    });
  }
}

/** Runs the server's `source.fixAll.freezelint` action on the active file (or each cell). */
async function fixAll(): Promise<void> {
  const notebook = vscode.window.activeNotebookEditor?.notebook;
  const editor = vscode.window.activeTextEditor;
  const documents =
    notebook && (!editor || editor.document.uri.scheme === 'vscode-notebook-cell')
      ? notebook.getCells().filter((cell) => cell.kind === vscode.NotebookCellKind.Code).map((cell) => cell.document)
      : editor
        ? [editor.document]
        : [];
  let applied = 0;
  for (const document of documents) {
    const whole = document.validateRange(new vscode.Range(0, 0, document.lineCount, 0));
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[] | undefined>(
      'vscode.executeCodeActionProvider', document.uri, whole, FIX_ALL.value);
    for (const action of actions ?? []) {
      if (action.kind && FIX_ALL.contains(action.kind)) {
        if (action.edit && (await vscode.workspace.applyEdit(action.edit))) {
          applied += 1;
        }
        if (action.command) {
          await vscode.commands.executeCommand(action.command.command, ...(action.command.arguments ?? []));
        }
      }
    }
  }
  if (applied === 0) {
    void vscode.window.showInformationMessage('freezelint: no safe fixes to apply (unsafe ones are quick fixes).');
  }
}
