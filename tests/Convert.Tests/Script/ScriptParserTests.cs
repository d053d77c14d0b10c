using System.Text;
using ModelForge.Core.Diagnostics;
using ModelForge.TorchScript.Script;

namespace ModelForge.Convert.Tests.Script;

public class ScriptParserTests
{
    private const string File = "code/__torch__/m.py";

    /// <summary>Parses <c>def f(): &lt;lines&gt;</c> and returns the body.</summary>
    private static IReadOnlyList<Stmt> Body(params string[] lines)
    {
        var source = "def f():\n" + string.Concat(lines.Select(l => "  " + l + "\n"));
        return ScriptParser.Parse(source, File).Functions.Single().Body;
    }

    private static Expr ParseExpr(string expression) => Assert.IsType<ExprStmt>(Body(expression).Single()).Value;

    private static string Printed(string expression) => AstPrinter.Print(ParseExpr(expression));

    // ---- expressions ------------------------------------------------------------------------------

    [Theory]
    [InlineData("a + b * c - d", "((a + (b * c)) - d)")]
    [InlineData("a // b % c @ d / e", "((((a // b) % c) @ d) / e)")]
    [InlineData("a | b ^ c & d << 1 + 2", "(a | (b ^ (c & (d << (1 + 2)))))")]
    [InlineData("a >> b << c", "((a >> b) << c)")]
    [InlineData("-x ** 2", "(-(x ** 2))")]
    [InlineData("2 ** 3 ** 2", "(2 ** (3 ** 2))")]
    [InlineData("2 ** -1", "(2 ** (-1))")]
    [InlineData("-a * +b", "((-a) * (+b))")]
    [InlineData("~a.b(c)[0]", "(~a.b(c)[0])")]
    [InlineData("not a == b and c or d", "(((not (a == b)) and c) or d)")]
    [InlineData("a or b or c", "(a or b or c)")]
    [InlineData("a and not b and c", "(a and (not b) and c)")]
    [InlineData("a < b <= c != d", "(a < b <= c != d)")]
    [InlineData("x is not None", "(x is not None)")]
    [InlineData("x is None", "(x is None)")]
    [InlineData("k not in d", "(k not in d)")]
    [InlineData("k in d", "(k in d)")]
    [InlineData("a + 1 < b * 2", "((a + 1) < (b * 2))")]
    [InlineData("a if b else c if d else e", "(a if b else (c if d else e))")]
    [InlineData("a or b if c and d else e", "((a or b) if (c and d) else e)")]
    [InlineData("(a + b) * c", "((a + b) * c)")]
    public void OperatorPrecedenceFollowsPython(string source, string expected) =>
        Assert.Equal(expected, Printed(source));

    [Theory]
    [InlineData("x[:, 0]", "x[(:, 0)]")]
    [InlineData("x[1:-1:2]", "x[1:(-1):2]")]
    [InlineData("x[::2]", "x[::2]")]
    [InlineData("x[1:]", "x[1:]")]
    [InlineData("x[:]", "x[:]")]
    [InlineData("z[-1]", "z[(-1)]")]
    [InlineData("__annotations__[\"0\"]", "__annotations__['0']")]
    [InlineData("Optional[Tensor]", "Optional[Tensor]")]
    [InlineData("Tuple[int, int]", "Tuple[(int, int)]")]
    [InlineData("Dict[str, List[Tuple[int, str]]]", "Dict[(str, List[Tuple[(int, str)]])]")]
    [InlineData("Tuple[int,]", "Tuple[(int,)]")]
    public void SubscriptsSlicesAndTypes(string source, string expected) =>
        Assert.Equal(expected, Printed(source));

    [Theory]
    [InlineData("ops.prim.NumToTensor(torch.size(x, 0))", "ops.prim.NumToTensor(torch.size(x, 0))")]
    [InlineData("(conv1).forward(x, )", "conv1.forward(x)")]
    [InlineData("f(a, b=1, c=None, )", "f(a, b=1, c=None)")]
    [InlineData("f()", "f()")]
    [InlineData("getattr(self, \"0\")", "getattr(self, '0')")]
    [InlineData("CONSTANTS.c0", "CONSTANTS.c0")]
    [InlineData("uninitialized(Tensor)", "uninitialized(Tensor)")]
    [InlineData("annotate(List[int], [])", "annotate(List[int], [])")]
    [InlineData("__torch__.torch.nn.modules.conv.___torch_mangle_12.Conv2d", "__torch__.torch.nn.modules.conv.___torch_mangle_12.Conv2d")]
    [InlineData("torch.__not__(x)", "torch.__not__(x)")]
    [InlineData("()", "()")]
    [InlineData("(a,)", "(a,)")]
    [InlineData("(a, b, )", "(a, b)")]
    [InlineData("a, b", "(a, b)")]
    [InlineData("[]", "[]")]
    [InlineData("[\"weight\", \"bias\", ]", "['weight', 'bias']")]
    [InlineData("{}", "{}")]
    [InlineData("{\"a\": 1., \"b\": inf, \"c\": -inf, }", "{'a': 1f, 'b': inf, 'c': (-inf)}")]
    [InlineData("[f(v) for v in xs]", "[f(v) for v in xs]")]
    [InlineData("[a + b for a, b in pairs]", "[(a + b) for (a, b) in pairs]")]
    public void CallsAttributesAndDisplays(string source, string expected) =>
        Assert.Equal(expected, Printed(source));

    [Theory]
    [InlineData("0", 0L)]
    [InlineData("42", 42L)]
    [InlineData("0x10", 16L)]
    [InlineData("0xFF", 255L)]
    [InlineData("9223372036854775807", long.MaxValue)]
    [InlineData("-9223372036854775808", long.MinValue)]
    [InlineData("1.0000000000000001e-05", 1.0000000000000001e-05)]
    [InlineData("1.", 1.0)]
    [InlineData(".5", 0.5)]
    [InlineData("9.9999999999999995e-07", 9.9999999999999995e-07)]
    [InlineData("1e3", 1000.0)]
    [InlineData("True", true)]
    [InlineData("False", false)]
    [InlineData("None", null)]
    [InlineData("\"a\\\"b\\'\\n\"", "a\"b'\n")]
    [InlineData("'single' \"double\"", "singledouble")]
    [InlineData("r'\\d+'", "\\d+")]
    [InlineData("'\\x41\\u00e4\\t'", "A\u00e4\t")]
    public void Literals(string source, object? expected)
    {
        var constant = Assert.IsType<ConstantExpr>(ParseExpr(source));
        Assert.Equal(expected, constant.Value);
    }

    [Fact]
    public void NegativeNumbersAreUnaryMinus()
    {
        // Only -9223372036854775808 is folded (its magnitude does not fit in a long).
        var neg = Assert.IsType<UnaryExpr>(ParseExpr("-1"));
        Assert.Equal("-", neg.Op);
        Assert.Equal(1L, Assert.IsType<ConstantExpr>(neg.Operand).Value);
        Assert.Equal("(-1.5e-05f)", Printed("-1.5e-05"));
    }

    [Fact]
    public void InfAndNanAreNames()
    {
        // torch.jit.save prints float infinities and NaN as the bare names inf and nan.
        Assert.Equal("inf", Assert.IsType<NameExpr>(ParseExpr("inf")).Id);
        Assert.Equal("nan", Assert.IsType<NameExpr>(ParseExpr("nan")).Id);
    }

    // ---- statements -------------------------------------------------------------------------------

    [Fact]
    public void TupleTargetsAndChainedAssignment()
    {
        var body = Body(
            "a, b = x",
            "k, v, = xs[_12]",
            "x1, o0 = torch.mul(x0, o1), o1",
            "a = b = 1",
            "(c, d) = e",
            "a, (b, c) = t");

        var s0 = Assert.IsType<AssignStmt>(body[0]);
        Assert.Equal("(a, b)", AstPrinter.Print(Assert.Single(s0.Targets)));
        Assert.Equal("x", AstPrinter.Print(s0.Value));

        var s1 = Assert.IsType<AssignStmt>(body[1]);
        Assert.Equal("(k, v)", AstPrinter.Print(Assert.Single(s1.Targets)));

        var s2 = Assert.IsType<AssignStmt>(body[2]);
        Assert.Equal("(x1, o0)", AstPrinter.Print(s2.Targets[0]));
        Assert.Equal("(torch.mul(x0, o1), o1)", AstPrinter.Print(s2.Value));

        var s3 = Assert.IsType<AssignStmt>(body[3]);
        Assert.Equal(["a", "b"], s3.Targets.Select(AstPrinter.Print));
        Assert.Equal(1L, Assert.IsType<ConstantExpr>(s3.Value).Value);

        Assert.Equal("(c, d)", AstPrinter.Print(Assert.IsType<AssignStmt>(body[4]).Targets[0]));
        Assert.Equal("(a, (b, c))", AstPrinter.Print(Assert.IsType<AssignStmt>(body[5]).Targets[0]));
    }

    [Fact]
    public void AnnotatedAugmentedAndSubscriptAssignments()
    {
        var body = Body(
            "training : bool",
            "k : Final[int] = 3",
            "__annotations__[\"0\"] = __torch__.torch.nn.modules.linear.Linear",
            "i += 1",
            "x //= 2",
            "self.w = w");

        var ann = Assert.IsType<AnnAssignStmt>(body[0]);
        Assert.Equal("training", AstPrinter.Print(ann.Target));
        Assert.Equal("bool", AstPrinter.Print(ann.Annotation));
        Assert.Null(ann.Value);

        var final = Assert.IsType<AnnAssignStmt>(body[1]);
        Assert.Equal("Final[int]", AstPrinter.Print(final.Annotation));
        Assert.Equal(3L, Assert.IsType<ConstantExpr>(final.Value).Value);

        var annotations = Assert.IsType<AssignStmt>(body[2]);
        Assert.IsType<SubscriptExpr>(annotations.Targets[0]);
        Assert.Equal("__torch__.torch.nn.modules.linear.Linear", AstPrinter.Print(annotations.Value));

        var aug = Assert.IsType<AugAssignStmt>(body[3]);
        Assert.Equal(("i", "+", "1"), (AstPrinter.Print(aug.Target), aug.Op, AstPrinter.Print(aug.Value)));
        Assert.Equal("//", Assert.IsType<AugAssignStmt>(body[4]).Op);
        Assert.IsType<AttributeExpr>(Assert.IsType<AssignStmt>(body[5]).Targets[0]);
    }

    [Fact]
    public void ElifChainsNestInElse()
    {
        var body = Body(
            "if a:",
            "  x = 1",
            "elif b:",
            "  x = 2",
            "elif c:",
            "  x = 3",
            "else:",
            "  x = 4",
            "return x");

        Assert.Equal(2, body.Count);
        var first = Assert.IsType<IfStmt>(body[0]);
        Assert.Equal("a", AstPrinter.Print(first.Condition));
        var second = Assert.IsType<IfStmt>(Assert.Single(first.Else));
        Assert.Equal("b", AstPrinter.Print(second.Condition));
        var third = Assert.IsType<IfStmt>(Assert.Single(second.Else));
        Assert.Equal("c", AstPrinter.Print(third.Condition));
        var last = Assert.IsType<AssignStmt>(Assert.Single(third.Else));
        Assert.Equal(4L, Assert.IsType<ConstantExpr>(last.Value).Value);
        // The nested if's span starts at its 'elif'.
        Assert.Equal((4, 3), (second.Span.Line, second.Span.Column));
    }

    [Fact]
    public void IfWithoutElseHasEmptyElse()
    {
        var ifStmt = Assert.IsType<IfStmt>(Body("if x:", "  pass").Single());
        Assert.Empty(ifStmt.Else);
        Assert.IsType<PassStmt>(Assert.Single(ifStmt.Then));
    }

    [Fact]
    public void LoopsAndSimpleStatements()
    {
        var body = Body(
            "for i in range(3):",
            "  continue",
            "for name, mod in items:",
            "  break",
            "while _1:",
            "  _1, i = torch.lt(i0, n), i0",
            "raise",
            "raise ValueError(\"bad\")",
            "assert x",
            "assert x, \"message\"",
            "del a, b[0]",
            "return",
            "return (a, b)",
            "return a, b",
            "ops.prim.RaiseException(_0, \"builtins.ValueError\")");

        var loop = Assert.IsType<ForStmt>(body[0]);
        Assert.Equal(("i", "range(3)"), (AstPrinter.Print(loop.Target), AstPrinter.Print(loop.Iterable)));
        Assert.IsType<ContinueStmt>(Assert.Single(loop.Body));
        Assert.Equal("(name, mod)", AstPrinter.Print(Assert.IsType<ForStmt>(body[1]).Target));
        Assert.IsType<BreakStmt>(Assert.Single(Assert.IsType<ForStmt>(body[1]).Body));
        var whileStmt = Assert.IsType<WhileStmt>(body[2]);
        Assert.Equal("_1", AstPrinter.Print(whileStmt.Condition));
        Assert.IsType<AssignStmt>(Assert.Single(whileStmt.Body));
        Assert.Null(Assert.IsType<RaiseStmt>(body[3]).Exception);
        Assert.Equal("ValueError('bad')", AstPrinter.Print(Assert.IsType<RaiseStmt>(body[4]).Exception!));
        Assert.Null(Assert.IsType<AssertStmt>(body[5]).Message);
        Assert.Equal("'message'", AstPrinter.Print(Assert.IsType<AssertStmt>(body[6]).Message!));
        Assert.Equal(["a", "b[0]"], Assert.IsType<DelStmt>(body[7]).Targets.Select(AstPrinter.Print));
        Assert.Null(Assert.IsType<ReturnStmt>(body[8]).Value);
        Assert.Equal("(a, b)", AstPrinter.Print(Assert.IsType<ReturnStmt>(body[9]).Value!));
        Assert.Equal("(a, b)", AstPrinter.Print(Assert.IsType<ReturnStmt>(body[10]).Value!));
        Assert.IsType<CallExpr>(Assert.IsType<ExprStmt>(body[11]).Value);
    }

    [Fact]
    public void ClassesMethodsAndFreeFunctions()
    {
        const string source = """
            import torch
            from typing import List
            class Linear(Module):
              __parameters__ = ["weight", "bias", ]
              __buffers__ = []
              weight : Tensor
              training : bool
              out_features : Final[int] = 4
              def forward(self: __torch__.torch.nn.modules.linear.Linear,
                input: Tensor) -> Tensor:
                return torch.linear(input, self.weight, self.bias)
              def extra(self, n: int=2, s: str="a", f: float=-1.5e-05, ys: Optional[List[int]]=None):
                pass
            class Box:
              w : int
            class Iface(ModuleInterface):
              def forward(self, x: Tensor) -> Tensor:
                pass
            def relu(input: Tensor,
                inplace: bool=False) -> Tensor:
              return torch.relu(input)
            """;
        var file = ScriptParser.Parse(source, File);
        Assert.Equal(File, file.Path);
        Assert.Equal(["Linear", "Box", "Iface"], file.Classes.Select(c => c.Name));

        var linear = file.Classes[0];
        Assert.Equal("Module", AstPrinter.Print(Assert.Single(linear.Bases)));
        Assert.Equal(5, linear.Body.Count);
        Assert.Equal("['weight', 'bias']", AstPrinter.Print(Assert.IsType<AssignStmt>(linear.Body[0]).Value));
        Assert.Equal(["forward", "extra"], linear.Methods.Select(m => m.Name));

        var forward = linear.Methods[0];
        Assert.Equal(["self", "input"], forward.Parameters.Select(p => p.Name));
        Assert.Equal("__torch__.torch.nn.modules.linear.Linear", AstPrinter.Print(forward.Parameters[0].Type!));
        Assert.Equal("Tensor", AstPrinter.Print(forward.ReturnType!));

        var extra = linear.Methods[1];
        Assert.Null(extra.Parameters[0].Type);
        Assert.Null(extra.ReturnType);
        Assert.Equal(["2", "'a'", "(-1.5e-05f)", "None"], extra.Parameters.Skip(1).Select(p => AstPrinter.Print(p.Default!)));
        Assert.Equal("Optional[List[int]]", AstPrinter.Print(extra.Parameters[4].Type!));

        Assert.Empty(file.Classes[1].Bases);
        Assert.IsType<AnnAssignStmt>(Assert.Single(file.Classes[1].Body));

        var relu = Assert.Single(file.Functions);
        Assert.Equal("relu", relu.Name);
        Assert.Equal("False", AstPrinter.Print(relu.Parameters[1].Default!));
    }

    [Fact]
    public void LayoutBlankLinesCommentsContinuationsAndSemicolons()
    {
        const string source = "def f(x):\n\n  # a comment\n  y = (x +\n1)\n      # indented comment\n\n  z = x + \\\n    y; w = z\n  if z: return w\n  return [1,\n          2]\n";
        var body = ScriptParser.Parse(source, File).Functions.Single().Body;
        Assert.Equal(5, body.Count);
        Assert.Equal("(x + 1)", AstPrinter.Print(Assert.IsType<AssignStmt>(body[0]).Value));
        Assert.Equal("(x + y)", AstPrinter.Print(Assert.IsType<AssignStmt>(body[1]).Value));
        Assert.Equal("z", AstPrinter.Print(Assert.IsType<AssignStmt>(body[2]).Value));
        Assert.IsType<ReturnStmt>(Assert.Single(Assert.IsType<IfStmt>(body[3]).Then));
        Assert.Equal("[1, 2]", AstPrinter.Print(Assert.IsType<ReturnStmt>(body[4]).Value!));
    }

    [Fact]
    public void WindowsLineEndingsAndMissingFinalNewline()
    {
        var file = ScriptParser.Parse("class A(Module):\r\n  training : bool\r\n  def forward(self):\r\n    return 1", File);
        var method = Assert.Single(Assert.Single(file.Classes).Methods);
        Assert.IsType<ReturnStmt>(Assert.Single(method.Body));
        Assert.Equal(4, method.Body[0].Span.Line);
    }

    // ---- spans ------------------------------------------------------------------------------------

    [Fact]
    public void SpansPointAtLineColumnAndByteOffset()
    {
        const string source = "class A(Module):\n  def forward(self, x: Tensor) -> Tensor:\n    _0 = torch.add(x, 1)\n    return _0\n";
        var method = ScriptParser.Parse(source, File).Classes[0].Methods[0];
        var assign = Assert.IsType<AssignStmt>(method.Body[0]);
        var call = Assert.IsType<CallExpr>(assign.Value);

        const string callText = "torch.add(x, 1)";
        var callOffset = source.IndexOf(callText, StringComparison.Ordinal);
        Assert.Equal(new SourceSpan(File, 3, 10, callOffset, callText.Length), call.Span);

        const string statementText = "_0 = torch.add(x, 1)";
        Assert.Equal(new SourceSpan(File, 3, 5, source.IndexOf(statementText, StringComparison.Ordinal), statementText.Length), assign.Span);

        // The callee, the argument and the method all carry their own spans.
        Assert.Equal((3, 10, 9), (call.Function.Span.Line, call.Function.Span.Column, call.Function.Span.Length));
        Assert.Equal((3, 20), (call.Args[0].Span.Line, call.Args[0].Span.Column));
        Assert.Equal((2, 3), (method.Span.Line, method.Span.Column));
        Assert.Equal(source.TrimEnd('\n').Length - source.IndexOf("def", StringComparison.Ordinal), method.Span.Length);
        Assert.Equal("code/__torch__/m.py(3,10)", call.Span.ToString());
    }

    [Fact]
    public void NodesBuiltOnAParenthesisedExpressionStartAtTheParenthesis()
    {
        // As in Python's ast: the call in "(conv1).forward(x, )" starts at '(' while conv1 itself does not.
        const string source = "def f(x):\n  return (conv1).forward(x, ) * (a + b)\n";
        var product = Assert.IsType<BinaryExpr>(Assert.IsType<ReturnStmt>(ScriptParser.Parse(source, File).Functions[0].Body[0]).Value);
        var call = Assert.IsType<CallExpr>(product.Left);
        Assert.Equal(source.IndexOf("(conv1)", StringComparison.Ordinal), call.Span.Offset);
        Assert.Equal("(conv1).forward(x, )".Length, call.Span.Length);
        Assert.Equal(10, Assert.IsType<AttributeExpr>(call.Function).Span.Column);
        Assert.Equal(11, Assert.IsType<AttributeExpr>(call.Function).Target.Span.Column);
        Assert.Equal(source.IndexOf("a + b", StringComparison.Ordinal), product.Right.Span.Offset);
        Assert.Equal("(conv1).forward(x, ) * (a + b)".Length, product.Span.Length);
    }

    [Fact]
    public void CompoundStatementSpansCoverTheirBodies()
    {
        const string source = "def f(x):\n  if x:\n    y = 1\n  else:\n    y = 2\n  return y\n";
        var ifStmt = Assert.IsType<IfStmt>(ScriptParser.Parse(source, File).Functions[0].Body[0]);
        var text = "if x:\n    y = 1\n  else:\n    y = 2";
        Assert.Equal(source.IndexOf(text, StringComparison.Ordinal), ifStmt.Span.Offset);
        Assert.Equal(text.Length, ifStmt.Span.Length);
    }

    [Fact]
    public void OffsetsAreUtf8Bytes()
    {
        const string source = "def f():\n  s = \"h\u00e4\u20ac\"\n  return g(s)\n";
        var ret = Assert.IsType<ReturnStmt>(ScriptParser.Parse(source, File).Functions[0].Body[1]);
        var call = ret.Value!;
        var expected = Encoding.UTF8.GetByteCount(source[..source.IndexOf("g(s)", StringComparison.Ordinal)]);
        Assert.Equal(expected, call.Span.Offset);
        Assert.Equal(4, call.Span.Length);

        var str = Assert.IsType<AssignStmt>(ScriptParser.Parse(source, File).Functions[0].Body[0]).Value;
        Assert.Equal("h\u00e4\u20ac", Assert.IsType<ConstantExpr>(str).Value);
        Assert.Equal(Encoding.UTF8.GetByteCount("\"h\u00e4\u20ac\""), str.Span.Length);
    }

    // ---- syntax errors ----------------------------------------------------------------------------

    private static ModelForgeException SyntaxError(string source)
    {
        var error = Assert.Throws<ModelForgeException>(() => ScriptParser.Parse(source, File));
        Assert.Equal(DiagnosticCode.ScriptSyntaxError, error.Code);
        return error;
    }

    [Fact]
    public void MissingColonReportsLocationAndWhatWasExpected()
    {
        const string source = "class A(Module):\n  def forward(self, x: Tensor) -> Tensor\n    return x\n";
        var diagnostic = SyntaxError(source).Diagnostics.Single();
        Assert.Equal(new SourceLocation(File, 2, 41, "def forward(self, x: Tensor) -> Tensor"), diagnostic.Location);
        Assert.Contains("expected ':' after the function signature but found end of line", diagnostic.Message);
        Assert.StartsWith("code/__torch__/m.py(2,41): error MF1020: ", diagnostic.Format());
    }

    [Theory]
    [InlineData("def f():\n  x = (1 +\n", 2, 7, "'(' was never closed")]
    [InlineData("def f():\n  x = 1 +\n", 2, 10, "expected an expression but found end of line")]
    [InlineData("def f():\n  x = $\n", 2, 7, "unexpected character '$'")]
    [InlineData("def f():\n  s = \"abc\n", 2, 7, "unterminated string literal")]
    [InlineData("def f():\n    x = 1\n  y = 2\n", 3, 3, "unindent does not match any outer indentation level")]
    [InlineData("def f():\nreturn 1\n", 2, 1, "expected an indented block but found keyword 'return'")]
    [InlineData("def f():\n  f(x) = 1\n", 2, 3, "cannot assign to a function call")]
    [InlineData("def f():\n  x = a if b\n", 2, 13, "expected 'else' but found end of line")]
    [InlineData("def f():\n  x = f(a b)\n", 2, 11, "expected ')' to close the call but found name 'b'")]
    [InlineData("def f():\n  x = [1, 2)\n", 2, 12, "closing ')' does not match '['")]
    [InlineData("def f():\n  x = 99999999999999999999\n", 2, 7, "does not fit in 64 bits")]
    [InlineData("def f():\n  with x:\n    pass\n", 2, 3, "'with' statements are not supported")]
    // Found by the convert fuzz target: a mutated archive repeated pin_memory= in a call, which crashed the interpreter.
    [InlineData("def f():\n  x = g(pin_memory=1, pin_memory=2)\n", 2, 23, "keyword argument 'pin_memory' repeated")]
    public void SyntaxErrorsAreLocated(string source, int line, int column, string message)
    {
        var diagnostic = SyntaxError(source).Diagnostics.Single();
        Assert.Equal((File, line, column), (diagnostic.Location!.File, diagnostic.Location.Line, diagnostic.Location.Column));
        Assert.Contains(message, diagnostic.Message);
    }
}
