"""Start AST fine-tuning from the AudioSet checkpoint, with a new 10-class head.

The released checkpoint was saved under DataParallel: every one of its 159 keys starts with
`module.`. The merge below tests `k[7:]` but keeps `k`, so `update()` adds 157 prefixed keys
next to the model's own instead of overwriting them, and the load fails (or, with
strict=False, loads nothing). `freezelint check` says so, and `--fix` repairs it.
"""

import torch

from src.models import ASTModel

model = ASTModel(label_dim=10, fstride=10, tstride=10, input_fdim=128, input_tdim=1024,
                 imagenet_pretrain=False, audioset_pretrain=False, model_size='base384')

pretrained = torch.load('audioset_10_10_0.4593.pth', map_location='cpu')
# The AudioSet head has 527 outputs; ours has 10.
pretrained.pop('module.mlp_head.1.weight')
pretrained.pop('module.mlp_head.1.bias')

model_dict = model.state_dict()
pretrained = {k: v for k, v in pretrained.items() if k[7:] in model_dict}
model_dict.update(pretrained)
model.load_state_dict(model_dict)
