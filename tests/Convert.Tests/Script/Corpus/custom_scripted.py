class Custom(Module):
  __parameters__ = []
  __buffers__ = []
  training : bool
  _is_full_backward_hook : NoneType
  opt : NoneType
  layers : __torch__.torch.nn.modules.container.ModuleList
  k : Final[int] = 3
  def forward(self: __torch__.Custom,
    x: Tensor,
    n: int=2,
    s: str="a\"b\'\n",
    f: float=-1.5e-05,
    ys: Optional[List[int]]=None) -> Tuple[Tensor, List[int], Dict[str, float]]:
    _0 = "AssertionError: n must be non-negative"
    out = annotate(List[int], [])
    i = 0
    _1 = torch.lt(0, n)
    while _1:
      _2 = torch.append(out, torch.mul(i, i))
      i0 = torch.add(i, 1)
      _1, i = torch.lt(i0, n), i0
    layers = self.layers
    _00 = getattr(layers, "0")
    _10 = getattr(layers, "1")
    _20 = getattr(layers, "2")
    x0 = (_00).forward(x, )
    x1 = (_10).forward(x0, )
    x2 = (_20).forward(x1, )
    x3 = x2
    for j in range(n):
      _3 = torch.eq(torch.remainder(j, 2), 0)
      if _3:
        x4 = torch.mul(x3, 2)
      else:
        x4 = torch.neg(x3)
      x3 = x4
    if torch.gt(n, 5):
      x5 = torch.sub(x3, 1)
    else:
      x5 = torch.div(x3, 3)
    if torch.__is__(ys, None):
      ops.prim.RaiseException(torch.format("ys is {} none", n), "builtins.ValueError")
    else:
      pass
    if torch.ge(n, 0):
      pass
    else:
      ops.prim.RaiseException(_0)
    d = {"a": 1., "b": inf, "c": -inf, "d": nan}
    y = torch.slice(torch.slice(x5), 1, 0, 2)
    z = torch.slice(x5, 0, 1, -1, 2)
    m = torch.matmul(torch.view(x5, [-1]), torch.view(x5, [-1]))
    print(torch.format("val {}", n))
    _4 = torch.add(torch.add(x5, torch.sum(y)), torch.sum(z))
    return (torch.add(_4, m), out, d)
