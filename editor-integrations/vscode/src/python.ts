// Which Python runs the server, and whether freezelint is installed in it.
import { execFile } from 'child_process';
import * as vscode from 'vscode';

/** The part of the Python extension's API we use (ms-python.python `exports`). */
interface PythonApi {
  environments: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { id: string; path: string };
    resolveEnvironment(env: { id: string; path: string } | string): Promise<
      { executable: { uri?: vscode.Uri } } | undefined
    >;
    onDidChangeActiveEnvironmentPath: vscode.Event<unknown>;
  };
}

export interface Interpreter {
  command: string[]; // the executable, then its own arguments
  source: string; // where it came from, for the log
}

const PYTHON_EXTENSION = 'ms-python.python';

async function pythonApi(): Promise<PythonApi | undefined> {
  const extension = vscode.extensions.getExtension(PYTHON_EXTENSION);
  if (!extension) {
    return undefined;
  }
  try {
    const exports: unknown = extension.isActive ? extension.exports : await extension.activate();
    const api = exports as Partial<PythonApi> | undefined;
    return api?.environments?.getActiveEnvironmentPath ? (api as PythonApi) : undefined;
  } catch {
    return undefined;
  }
}

async function selectedPython(resource?: vscode.Uri): Promise<string | undefined> {
  const api = await pythonApi();
  if (!api) {
    return undefined;
  }
  try {
    const active = api.environments.getActiveEnvironmentPath(resource);
    const resolved = await api.environments.resolveEnvironment(active);
    return resolved?.executable.uri?.fsPath ?? active.path;
  } catch {
    return undefined;
  }
}

/**
 * The interpreter: the `freezelint.interpreter` setting when the user set one (an explicit
 * choice wins, as in Ruff), else the Python extension's selected environment, else python3.
 */
export async function findInterpreter(setting: string[], resource?: vscode.Uri): Promise<Interpreter> {
  if (setting.length > 0 && setting[0]) {
    return { command: setting, source: 'the freezelint.interpreter setting' };
  }
  const selected = await selectedPython(resource);
  if (selected) {
    return { command: [selected], source: 'the Python extension' };
  }
  return { command: ['python3'], source: 'the default (no interpreter selected)' };
}

/** Calls `listener` when the user selects another environment in the Python extension. */
export async function onPythonChange(listener: () => void): Promise<vscode.Disposable | undefined> {
  const api = await pythonApi();
  try {
    return api?.environments.onDidChangeActiveEnvironmentPath(() => listener());
  } catch {
    return undefined;
  }
}

export type Check =
  | { ok: true; version: string }
  | { ok: false; detail: string; noInterpreter: boolean };

/** Runs `python -c "import freezelint"` in the interpreter. */
export function checkFreezelint(interpreter: Interpreter, cwd: string | undefined): Promise<Check> {
  const [exe, ...rest] = interpreter.command;
  const args = [...rest, '-c', 'import freezelint; print(freezelint.__version__)'];
  return new Promise((resolve) => {
    execFile(exe, args, { cwd, timeout: 30_000 }, (error, stdout, stderr) => {
      if (error) {
        const noInterpreter = (error as NodeJS.ErrnoException).code === 'ENOENT';
        resolve({ ok: false, detail: noInterpreter ? `${exe}: not found` : stderr.trim() || error.message, noInterpreter });
      } else {
        resolve({ ok: true, version: stdout.trim() });
      }
    });
  });
}
