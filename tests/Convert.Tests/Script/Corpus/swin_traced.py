class SwinTransformer(Module):
  __parameters__ = []
  __buffers__ = []
  training : bool
  _is_full_backward_hook : Optional[bool]
  features : __torch__.torch.nn.modules.container.___torch_mangle_3976.Sequential
  norm : __torch__.torch.nn.modules.normalization.___torch_mangle_3977.LayerNorm
  permute : __torch__.torchvision.ops.misc.___torch_mangle_3978.Permute
  avgpool : __torch__.torch.nn.modules.pooling.___torch_mangle_3979.AdaptiveAvgPool2d
  flatten : __torch__.torch.nn.modules.flatten.Flatten
  head : __torch__.torch.nn.modules.linear.___torch_mangle_3980.Linear
  def forward(self: __torch__.torchvision.models.swin_transformer.SwinTransformer,
    x: Tensor) -> Tensor:
    head = self.head
    flatten = self.flatten
    avgpool = self.avgpool
    permute = self.permute
    norm = self.norm
    features = self.features
    _0 = (norm).forward((features).forward(x, ), )
    _1 = (avgpool).forward((permute).forward(_0, ), )
    _2 = (head).forward((flatten).forward(_1, ), )
    return _2
class SwinTransformerBlock(Module):
  __parameters__ = []
  __buffers__ = []
  training : bool
  _is_full_backward_hook : Optional[bool]
  norm1 : __torch__.torch.nn.modules.normalization.___torch_mangle_3811.LayerNorm
  attn : __torch__.torchvision.models.swin_transformer.ShiftedWindowAttention
  stochastic_depth : __torch__.torchvision.ops.stochastic_depth.___torch_mangle_3814.StochasticDepth
  norm2 : __torch__.torch.nn.modules.normalization.___torch_mangle_3815.LayerNorm
  mlp : __torch__.torchvision.ops.misc.MLP
  def forward(self: __torch__.torchvision.models.swin_transformer.SwinTransformerBlock,
    argument_1: Tensor) -> Tensor:
    mlp = self.mlp
    norm2 = self.norm2
    stochastic_depth = self.stochastic_depth
    attn = self.attn
    norm1 = self.norm1
    _3 = (attn).forward((norm1).forward(argument_1, ), )
    _4 = (stochastic_depth).forward()
    input = torch.add(argument_1, _3)
    _5 = (mlp).forward((norm2).forward(input, ), )
    _6 = (stochastic_depth).forward1()
    return torch.add(input, _5)
class ShiftedWindowAttention(Module):
  __parameters__ = ["relative_position_bias_table", ]
  __buffers__ = ["relative_position_index", ]
  relative_position_bias_table : Tensor
  relative_position_index : Tensor
  training : bool
  _is_full_backward_hook : Optional[bool]
  qkv : __torch__.torch.nn.modules.linear.___torch_mangle_3812.Linear
  proj : __torch__.torch.nn.modules.linear.___torch_mangle_3813.Linear
  def forward(self: __torch__.torchvision.models.swin_transformer.ShiftedWindowAttention,
    argument_1: Tensor) -> Tensor:
    proj = self.proj
    bias = proj.bias
    proj0 = self.proj
    weight = proj0.weight
    qkv = self.qkv
    bias0 = qkv.bias
    qkv0 = self.qkv
    weight0 = qkv0.weight
    relative_position_bias_table = self.relative_position_bias_table
    relative_position_index = self.relative_position_index
    _7 = annotate(List[Optional[Tensor]], [relative_position_index])
    relative_position_bias = torch.index(relative_position_bias_table, _7)
    relative_position_bias0 = torch.view(relative_position_bias, [49, 49, -1])
    _8 = torch.permute(relative_position_bias0, [2, 0, 1])
    relative_position_bias1 = torch.unsqueeze(torch.contiguous(_8), 0)
    B = ops.prim.NumToTensor(torch.size(argument_1, 0))
    _9 = int(B)
    _10 = int(B)
    _11 = int(B)
    H = ops.prim.NumToTensor(torch.size(argument_1, 1))
    _12 = int(H)
    W = ops.prim.NumToTensor(torch.size(argument_1, 2))
    _13 = int(W)
    C = ops.prim.NumToTensor(torch.size(argument_1, 3))
    _14 = int(C)
    _15 = int(C)
    _16 = int(C)
    _17 = int(C)
    _18 = int(C)
    _19 = torch.rsub(torch.remainder(W, 7), 7)
    pad_r = torch.remainder(_19, 7)
    _20 = int(pad_r)
    _21 = torch.rsub(torch.remainder(H, 7), 7)
    pad_b = torch.remainder(_21, 7)
    x = torch.pad(argument_1, [0, 0, 0, _20, 0, int(pad_b)])
    pad_H = ops.prim.NumToTensor(torch.size(x, 1))
    _22 = int(pad_H)
    pad_W = ops.prim.NumToTensor(torch.size(x, 2))
    _23 = int(pad_W)
    _24 = torch.floor_divide(pad_H, CONSTANTS.c0)
    _25 = torch.floor_divide(pad_W, CONSTANTS.c0)
    num_windows = torch.mul(_24, _25)
    _26 = torch.floor_divide(pad_H, CONSTANTS.c0)
    _27 = int(_26)
    _28 = torch.floor_divide(pad_W, CONSTANTS.c0)
    x0 = torch.view(x, [_11, _27, 7, int(_28), 7, _18])
    _29 = torch.permute(x0, [0, 1, 3, 2, 4, 5])
    _30 = [int(torch.mul(B, num_windows)), 49, _17]
    x1 = torch.reshape(_29, _30)
    qkv1 = torch.linear(x1, weight0, bias0)
    _31 = ops.prim.NumToTensor(torch.size(x1, 0))
    _32 = int(_31)
    _33 = ops.prim.NumToTensor(torch.size(x1, 1))
    _34 = int(_33)
    _35 = int(torch.floor_divide(C, CONSTANTS.c1))
    _36 = torch.reshape(qkv1, [_32, _34, 3, 3, _35])
    qkv2 = torch.permute(_36, [2, 0, 3, 1, 4])
    q = torch.select(qkv2, 0, 0)
    k = torch.select(qkv2, 0, 1)
    v = torch.select(qkv2, 0, 2)
    _37 = torch.pow(torch.floor_divide(C, CONSTANTS.c1), -0.5)
    q0 = torch.mul(q, _37)
    attn = torch.matmul(q0, torch.transpose(k, -2, -1))
    input = torch.add(attn, relative_position_bias1)
    input0 = torch.softmax(input, -1)
    attn0 = torch.dropout(input0, 0., True)
    _38 = torch.transpose(torch.matmul(attn0, v), 1, 2)
    _39 = ops.prim.NumToTensor(torch.size(x1, 0))
    _40 = int(_39)
    _41 = ops.prim.NumToTensor(torch.size(x1, 1))
    x2 = torch.reshape(_38, [_40, int(_41), _16])
    input1 = torch.linear(x2, weight, bias)
    x3 = torch.dropout(input1, 0., True)
    _42 = torch.floor_divide(pad_H, CONSTANTS.c0)
    _43 = int(_42)
    _44 = torch.floor_divide(pad_W, CONSTANTS.c0)
    x4 = torch.view(x3, [_10, _43, int(_44), 7, 7, _15])
    _45 = torch.permute(x4, [0, 1, 3, 2, 4, 5])
    x5 = torch.reshape(_45, [_9, _22, _23, _14])
    _46 = torch.slice(x5, 0, 0, 9223372036854775807)
    _47 = torch.slice(torch.slice(_46, 1, 0, _12), 2, 0, _13)
    _48 = torch.slice(_47, 3, 0, 9223372036854775807)
    return torch.contiguous(_48)
class PatchMerging(Module):
  __parameters__ = []
  __buffers__ = []
  training : bool
  _is_full_backward_hook : Optional[bool]
  reduction : __torch__.torch.nn.modules.linear.___torch_mangle_3835.Linear
  norm : __torch__.torch.nn.modules.normalization.___torch_mangle_3836.LayerNorm
  def forward(self: __torch__.torchvision.models.swin_transformer.PatchMerging,
    argument_1: Tensor) -> Tensor:
    reduction = self.reduction
    norm = self.norm
    H = ops.prim.NumToTensor(torch.size(argument_1, 1))
    W = ops.prim.NumToTensor(torch.size(argument_1, 2))
    _49 = [0, 0, 0, int(torch.remainder(W, 2)), 0, int(torch.remainder(H, 2))]
    x = torch.pad(argument_1, _49)
    _50 = torch.slice(x, 1, 0, 9223372036854775807, 2)
    _51 = torch.slice(_50, 2, 0, 9223372036854775807, 2)
    x0 = torch.slice(_51, 3, 0, 9223372036854775807)
    _52 = torch.slice(x, 1, 1, 9223372036854775807, 2)
    _53 = torch.slice(_52, 2, 0, 9223372036854775807, 2)
    x1 = torch.slice(_53, 3, 0, 9223372036854775807)
    _54 = torch.slice(x, 1, 0, 9223372036854775807, 2)
    _55 = torch.slice(_54, 2, 1, 9223372036854775807, 2)
    x2 = torch.slice(_55, 3, 0, 9223372036854775807)
    _56 = torch.slice(x, 1, 1, 9223372036854775807, 2)
    _57 = torch.slice(_56, 2, 1, 9223372036854775807, 2)
    x3 = torch.slice(_57, 3, 0, 9223372036854775807)
    input = torch.cat([x0, x1, x2, x3], -1)
    _58 = (reduction).forward((norm).forward(input, ), )
    return _58
