"""Fine-tune the Audio Spectrogram Transformer on a 10-class task, head only.

The freeze loop was copied from a ResNet recipe: AST has no `fc`, so this freezes every
parameter and the optimizer gets an empty list. `freezelint check` on this file says so.
"""

import torch
import torch.nn as nn

from src.models import ASTModel

model = ASTModel(label_dim=527, fstride=10, tstride=10, input_fdim=128, input_tdim=1024,
                 imagenet_pretrain=False, audioset_pretrain=False, model_size='base384')

# New classifier for our 10 classes.
model.mlp_head[1] = nn.Linear(model.mlp_head[1].in_features, 10)

# Freeze everything except the classifier (from the ResNet fine-tuning recipe).
for name, p in model.named_parameters():
    if name != 'fc.weight' and name != 'fc.bias':
        p.requires_grad = False

optimizer = torch.optim.SGD(filter(lambda p: p.requires_grad, model.parameters()), lr=1e-3)
