class M(Module):
  __parameters__ = []
  __buffers__ = ["buf", ]
  buf : Tensor
  training : bool
  _is_full_backward_hook : NoneType
  names : List[str]
  sub : __torch__.Iface
  seq : __torch__.torch.nn.modules.container.Sequential
  md : __torch__.torch.nn.modules.container.ModuleDict
  def forward(self: __torch__.M,
    x: Tensor,
    o: Optional[Tensor]=None,
    c: int=-9223372036854775808) -> Tuple[__torch__.Pt, int]:
    b = __torch__.Box.__new__(__torch__.Box)
    _0 = (b).__init__(2, 3, )
    _1 = (b).area()
    if torch.lt(c, -10):
      _2 = torch.__not__(torch.ge(c, 5))
    else:
      _2 = False
    if _2:
      x0 = torch.add(x, 1)
    else:
      x0 = x
    if torch.__isnot__(o, None):
      o1 = unchecked_cast(Tensor, o)
      x1, o0 = torch.mul(x0, o1), o1
    else:
      x1, o0 = x0, o
    names = self.names
    _3 = torch.join("", names)
    names0 = self.names
    s = torch.add(_3, str(torch.len(names0)))
    _4 = torch.ne(torch.find(s, "a", 0, torch.len(s)), -1)
    if _4:
      _5 = True
    else:
      _6 = torch.find(s, "z", 0, torch.len(s))
      _5 = torch.__not__(torch.ne(_6, -1))
    if _5:
      sub = self.sub
      x2 = (sub).forward(x1, )
    else:
      x2 = x1
    md = self.md
    a = md.a
    b0 = md.b
    x3 = (a).forward(x2, )
    x4 = (b0).forward(x3, )
    seq = self.seq
    x5 = (seq).forward(x4, )
    q = annotate(List[int], [])
    for i in range(3):
      _7 = torch.append(q, torch.mul(i, 2))
    _8 = isinstance(o0, Tensor)
    if _8:
      o2 = unchecked_cast(Tensor, o0)
      x6 = torch.sub(x5, o2)
    else:
      x6 = x5
    z = torch.size(x6)
    w = z[-1]
    _9 = torch.add(torch.add(w, 9223372036854775807), torch.len(q))
    _10 = torch.add(torch.add(torch.add(_9, 0), 1), 2)
    _11 = (__torch__.Pt(x6, torch.add(_10, 3)), 1)
    return _11
  def helper(self: __torch__.M,
    xs: List[Tuple[int, str]]) -> Dict[str, int]:
    d = annotate(Dict[str, int], {})
    for _12 in range(torch.len(xs)):
      k, v, = xs[_12]
      torch._set_item(d, v, k)
    _13 = torch.keys(d)
    for _14 in range(torch.len(_13)):
      key = _13[_14]
      torch._set_item(d, key, torch.add(d[key], 1))
    return d
class Impl(Module):
  __parameters__ = []
  __buffers__ = []
  training : bool
  _is_full_backward_hook : Optional[bool]
  def forward(self: __torch__.Impl,
    x: Tensor) -> Tensor:
    return torch.relu(x)
class Iface(ModuleInterface):
  def forward(self, x: Tensor) -> Tensor:
    pass
class Pt(NamedTuple):
  x : Tensor
  y : int
class Box:
  w : int
  h : int
  def __init__(self: __torch__.Box,
    w: int,
    h: int) -> NoneType:
    self.w = w
    self.h = h
    return None
  def area(self: __torch__.Box) -> int:
    w = self.w
    h = self.h
    return torch.mul(w, h)
