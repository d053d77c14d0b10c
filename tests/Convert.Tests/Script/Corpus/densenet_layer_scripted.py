class _DenseLayer(Module):
  __parameters__ = []
  __buffers__ = []
  training : bool
  _is_full_backward_hook : Optional[bool]
  drop_rate : float
  memory_efficient : bool
  norm1 : __torch__.torch.nn.modules.batchnorm.___torch_mangle_4162.BatchNorm2d
  relu1 : __torch__.torch.nn.modules.activation.___torch_mangle_4163.ReLU
  conv1 : __torch__.torch.nn.modules.conv.___torch_mangle_4519.Conv2d
  norm2 : __torch__.torch.nn.modules.batchnorm.___torch_mangle_4169.BatchNorm2d
  relu2 : __torch__.torch.nn.modules.activation.___torch_mangle_4163.ReLU
  conv2 : __torch__.torch.nn.modules.conv.___torch_mangle_4520.Conv2d
  def forward__0(self: __torch__.torchvision.models.densenet.___torch_mangle_4521._DenseLayer,
    input: List[Tensor]) -> Tensor:
    _0 = "Memory Efficient not supported in JIT"
    _1 = __torch__.torch.nn.functional.dropout
    _2 = uninitialized(Tensor)
    input0 = unchecked_cast(List[Tensor], input)
    memory_efficient = self.memory_efficient
    if memory_efficient:
      _4 = (self).any_requires_grad(input0, )
      _3 = _4
    else:
      _3 = False
    if _3:
      ops.prim.RaiseException(_0, "builtins.Exception")
      bottleneck_output = _2
    else:
      bottleneck_output = (self).bn_function(input0, )
    conv2 = self.conv2
    relu2 = self.relu2
    norm2 = self.norm2
    _5 = (norm2).forward(bottleneck_output, )
    new_features = (conv2).forward((relu2).forward(_5, ), )
    drop_rate = self.drop_rate
    if torch.gt(drop_rate, 0):
      drop_rate0 = self.drop_rate
      training = self.training
      new_features1 = _1(new_features, drop_rate0, training, False, )
      new_features0 = new_features1
    else:
      new_features0 = new_features
    return new_features0
  def forward__1(self: __torch__.torchvision.models.densenet.___torch_mangle_4521._DenseLayer,
    input: Tensor) -> Tensor:
    _6 = "Memory Efficient not supported in JIT"
    _7 = __torch__.torch.nn.functional.dropout
    _8 = uninitialized(Tensor)
    input1 = unchecked_cast(Tensor, input)
    prev_features = [input1]
    memory_efficient = self.memory_efficient
    if memory_efficient:
      _10 = (self).any_requires_grad(prev_features, )
      _9 = _10
    else:
      _9 = False
    if _9:
      ops.prim.RaiseException(_6, "builtins.Exception")
      bottleneck_output = _8
    else:
      bottleneck_output0 = (self).bn_function(prev_features, )
      bottleneck_output = bottleneck_output0
    conv2 = self.conv2
    relu2 = self.relu2
    norm2 = self.norm2
    _11 = (norm2).forward(bottleneck_output, )
    new_features = (conv2).forward((relu2).forward(_11, ), )
    drop_rate = self.drop_rate
    if torch.gt(drop_rate, 0):
      drop_rate1 = self.drop_rate
      training = self.training
      new_features3 = _7(new_features, drop_rate1, training, False, )
      new_features2 = new_features3
    else:
      new_features2 = new_features
    return new_features2
  def any_requires_grad(self: __torch__.torchvision.models.densenet.___torch_mangle_4521._DenseLayer,
    input: List[Tensor]) -> bool:
    _12 = uninitialized(bool)
    _13 = torch.len(input)
    _14 = False
    _15 = _12
    _16 = 0
    _17 = torch.gt(_13, 0)
    while _17:
      tensor = input[_16]
      if ops.prim.requires_grad(tensor):
        _18, _19, _20 = False, True, True
      else:
        _18, _19, _20 = True, False, _12
      _21 = torch.add(_16, 1)
      _22 = torch.__and__(torch.lt(_21, _13), _18)
      _17, _14, _15, _16 = _22, _19, _20, _21
    if _14:
      _23 = _15
    else:
      _23 = False
    return _23
  def bn_function(self: __torch__.torchvision.models.densenet.___torch_mangle_4521._DenseLayer,
    inputs: List[Tensor]) -> Tensor:
    concated_features = torch.cat(inputs, 1)
    conv1 = self.conv1
    relu1 = self.relu1
    norm1 = self.norm1
    _24 = (norm1).forward(concated_features, )
    bottleneck_output = (conv1).forward((relu1).forward(_24, ), )
    return bottleneck_output
