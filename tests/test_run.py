"""`freezelint run train.py [args]`: real scripts in tmp_path, run end to end in a subprocess
(`python -m freezelint run ...`) and in-process (`run_script`, the CLI through click's
runner) for speed: the report on stderr, the script's own output and arguments, its exit
code, and `torch.optim.Optimizer.__init__` restored afterwards."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from click.testing import CliRunner  # noqa: E402

from freezelint.cli.main import main  # noqa: E402
from freezelint.runtime.runner import run_script  # noqa: E402

pytestmark = pytest.mark.torch

REPO = Path(__file__).resolve().parents[1]

TINY_AST = ("ASTModel(label_dim=10, input_fdim=32, input_tdim=32, model_size='tiny224', "
            "imagenet_pretrain=False, audioset_pretrain=False)")


def write(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")
    return path


def line_of(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def run_in_process(script: Path, *args: str, frozen_bn: str | None = None) -> tuple[int, str]:
    out = io.StringIO()
    code = run_script(str(script), list(args), frozen_bn=frozen_bn, out=out)  # type: ignore[arg-type]
    return code, out.getvalue()


def test_end_to_end_report_args_and_exit_code(tmp_path: Path) -> None:
    script = write(tmp_path, "train.py", f"""
        import sys

        import torch

        from freezelint.models.architectures.ast_model import ASTModel

        model = {TINY_AST}
        for param in model.parameters():
            param.requires_grad = False
        optimizer = torch.optim.SGD([p for p in model.parameters()], lr=0.1)
        optimizer.step()
        print("script ran with", sys.argv[1:], "as", __name__)
        sys.exit(3)
    """)
    done = subprocess.run([sys.executable, "-W", "ignore", "-m", "freezelint", "run",
                           str(script), "--some-arg", "value"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 3, done.stderr
    assert done.stdout == "script ran with ['--some-arg', 'value'] as __main__\n"
    line = line_of(script, "optimizer = torch.optim.SGD")
    err = done.stderr
    assert f"freezelint: audit of `model` when SGD was built at {script}:{line}" in err
    assert err.splitlines()[1].split()[:3] == ["module", "type", "tensors"]
    assert "0 of 5.8M parameters train" in err
    assert (f"{script}:{line}: FZL103 nothing-trainable [error]: every parameter the "
            f"optimizer holds is frozen (all 159 parameters of `model`)") in err
    assert "1 problem found" in err and "Traceback" not in err


def test_script_exception_gives_exit_1_and_its_own_traceback(tmp_path: Path) -> None:
    script = write(tmp_path, "crash.py", """
        def main():
            raise ValueError("bad config")

        main()
    """)
    done = subprocess.run([sys.executable, "-W", "ignore", "-m", "freezelint", "run",
                           str(script)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 1
    assert done.stderr.startswith("Traceback (most recent call last):\n  File ")
    assert f'File "{script}", line 4, in <module>' in done.stderr
    assert "ValueError: bad config" in done.stderr
    assert "runpy" not in done.stderr and "internal error" not in done.stderr


def test_head_replaced_after_the_optimizer_is_found_at_the_first_step(tmp_path: Path) -> None:
    """At construction all is well; the replacement happens later, so the second audit (at
    the first `step()`) reports it: the static rule FZL202, seen live."""
    script = write(tmp_path, "replace.py", f"""
        import torch
        from torch import nn

        from freezelint.models.architectures.ast_model import ASTModel

        model = {TINY_AST}
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        model.mlp_head[1] = nn.Linear(192, 3)
        loss = model(torch.randn(2, 32, 32)).sum()
        loss.backward()
        optimizer.step()
        optimizer.step()
    """)
    original = torch.optim.Optimizer.__init__
    code, out = run_in_process(script)
    assert code == 0
    assert torch.optim.Optimizer.__init__ is original
    first, _, later = out.partition("freezelint: at the first SGD.step()")
    assert "no problems found" in first
    step_line = line_of(script, "optimizer.step()")
    assert later.startswith(f" at {script}:{step_line}, new findings:\n")
    assert f"{script}:{step_line}: FZL202 optimizer-stale [error]: the optimizer holds 2 " \
           f"parameters that are no longer in `model`" in later
    assert "FZL203" in later
    assert out.count("freezelint:") == 2  # nothing at the second step


def test_config_driven_freezing_found_by_run(tmp_path: Path) -> None:
    """The script `freezelint check` passes (see test_audit) fails the live audit."""
    script = write(tmp_path, "from_config.py", f"""
        import torch

        from freezelint.models.architectures.ast_model import ASTModel

        CONFIG = {{"freeze": ["v", "mlp_head"], "lr": 0.01}}


        def apply_freeze(model, names):
            for name in names:
                for param in getattr(model, name).parameters():
                    param.requires_grad = False


        def main():
            net = {TINY_AST}
            apply_freeze(net, CONFIG["freeze"])
            return torch.optim.SGD(net.parameters(), lr=CONFIG["lr"], momentum=0.9)


        main()
    """)
    code, out = run_in_process(script)
    assert code == 0
    assert "audit of `net` when SGD was built" in out  # found in the function's locals
    assert "FZL103 nothing-trainable [error]" in out


def test_model_held_by_a_trainer_object_and_a_loss_with_weights(tmp_path: Path) -> None:
    """`self.model` in a trainer class is found; a learnable loss whose parameters are in the
    optimizer is audited with the model instead of being called stale (FZL202)."""
    script = write(tmp_path, "trainer.py", f"""
        import torch
        from torch import nn

        from freezelint.models.architectures.ast_model import ASTModel


        class Trainer:
            def __init__(self):
                self.model = {TINY_AST}
                self.criterion = nn.Linear(10, 10)
                for param in self.model.v.parameters():
                    param.requires_grad = False

            def configure(self):
                params = [p for p in self.model.parameters() if p.requires_grad]
                params += list(self.criterion.parameters())
                return torch.optim.AdamW(params)


        Trainer().configure()
    """)
    code, out = run_in_process(script)
    assert code == 0
    assert "audit of `self.model + self.criterion` when AdamW was built" in out
    assert "FZL202" not in out and "no problems found" in out


def test_frozen_batchnorm_option_through_the_cli(tmp_path: Path) -> None:
    script = write(tmp_path, "cnn.py", """
        import sys

        import torch
        from torch import nn

        model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(),
                              nn.Flatten(), nn.LazyLinear(10))
        model[1].requires_grad_(False)
        model.train()
        optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
        print("argv", sys.argv[1:])
    """)
    result = CliRunner().invoke(main, ["run", "--frozen-bn", "eval", str(script), "--help"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "argv ['--help']\n"  # options after SCRIPT are the script's
    assert "FZL108 frozen-batchnorm-train-mode [warning]: 1 BatchNorm layer with frozen " \
           "parameters is in training mode (`1`)" in result.stderr
    assert "1/1" in result.stderr

    plain = CliRunner().invoke(main, ["run", str(script)])
    assert plain.exit_code == 0 and "FZL108" not in plain.stderr


def test_exit_codes_and_restored_state(tmp_path: Path) -> None:
    original = torch.optim.Optimizer.__init__
    argv, path = list(sys.argv), list(sys.path)
    message = write(tmp_path, "message.py", """
        import sys
        sys.exit("stopping: no data")
    """)
    assert run_in_process(message) == (1, "")
    clean = write(tmp_path, "clean.py", "print('no optimizer here')\n")
    assert run_in_process(clean) == (0, "")
    failing = write(tmp_path, "failing.py", """
        import torch
        optimizer = torch.optim.SGD([torch.zeros(3, requires_grad=True)], lr=0.1)
        raise KeyError("boom")
    """)
    code, out = run_in_process(failing)
    assert code == 1
    assert out == ("freezelint: SGD built, but no nn.Module in the calling code owns its "
                   "parameters; nothing to audit\n")
    assert torch.optim.Optimizer.__init__ is original
    assert sys.argv == argv and sys.path == path


def test_only_the_first_optimizer_is_audited(tmp_path: Path) -> None:
    script = write(tmp_path, "two.py", """
        import torch
        from torch import nn

        model = nn.Linear(4, 2)
        first = torch.optim.SGD(model.parameters(), lr=0.1)
        second = torch.optim.Adam(model.parameters())
        assert isinstance(second, torch.optim.Adam) and second.defaults["lr"] == 1e-3
    """)
    code, out = run_in_process(script)
    assert code == 0
    assert out.count("freezelint: audit of") == 1 and "when SGD was built" in out


def test_run_usage_errors() -> None:
    result = CliRunner().invoke(main, ["run", "no_such_script.py"])
    assert result.exit_code == 2 and "does not exist" in result.output
    assert "Run a training script" in CliRunner().invoke(main, ["run", "--help"]).output
