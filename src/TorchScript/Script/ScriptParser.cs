using ModelForge.Core.Diagnostics;

namespace ModelForge.TorchScript.Script;

/// <summary>
/// Recursive-descent parser for the Python subset that <c>torch.jit.save</c> writes into <c>code/__torch__/…py</c>.
/// </summary>
public static class ScriptParser
{
    /// <summary>
    /// Deepest nesting of expressions (brackets, unary operators, conditional expressions) and blocks accepted
    /// (MF1020 beyond). The parser and everything that walks the tree recurse once per level, so without a bound a
    /// hostile file could overflow the stack, which kills the process. Each level costs about 20 parser frames, so
    /// 100 levels fit a 1 MiB thread stack with room for the walkers that run after the parser; code written by
    /// torch.jit.save nests a handful of levels. The parser also stops (with the same error) when the thread's stack
    /// runs low before that, e.g. on a thread with a very small stack.
    /// </summary>
    public const int MaxNestingDepth = 100;

    /// <summary>
    /// Parses one source file. <paramref name="path"/> is the archive-relative path used in spans and diagnostics.
    /// Syntax errors throw <see cref="ModelForgeException"/> with <see cref="DiagnosticCode.ScriptSyntaxError"/>.
    /// </summary>
    public static ScriptFile Parse(string source, string path)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(path);
        var tokens = ScriptLexer.Tokenize(source, path);
        return new Parser(source, path, tokens).ParseFile();
    }

    internal static ModelForgeException SyntaxError(string path, string source, int line, int column, string message)
    {
        var text = LineText(source, line);
        return new ModelForgeException(DiagnosticCode.ScriptSyntaxError,
            $"TorchScript syntax error: {message}",
            new SourceLocation(path, line, column, text.Length > 0 ? text : null),
            "ModelForge could not read the archive's serialized TorchScript code. If the model was saved by a newer " +
            "PyTorch, please report this together with the file and line above.");
    }

    private static string LineText(string source, int line)
    {
        var start = 0;
        for (var l = 1; l < line && start < source.Length; l++)
        {
            var nl = source.IndexOfAny(['\n', '\r'], start);
            if (nl < 0) return "";
            start = source[nl] == '\r' && nl + 1 < source.Length && source[nl + 1] == '\n' ? nl + 2 : nl + 1;
        }
        var end = source.IndexOfAny(['\n', '\r'], start);
        return (end < 0 ? source[start..] : source[start..end]).Trim();
    }

    private sealed class Parser
    {
        private static readonly HashSet<string> Keywords =
        [
            "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
            "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
            "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
        ];

        private static readonly HashSet<string> AugmentedOps =
            ["+=", "-=", "*=", "/=", "//=", "%=", "**=", "@=", "&=", "|=", "^=", "<<=", ">>="];

        private readonly string _source;
        private readonly string _path;
        private readonly List<Token> _tokens;
        private readonly int[] _byteOffsets;
        private int _index;
        private int _lastEnd; // char index just after the last significant token consumed
        private int _depth; // current nesting (see MaxNestingDepth); not unwound on errors, which end the parse

        private void Enter()
        {
            if (++_depth > MaxNestingDepth || !System.Runtime.CompilerServices.RuntimeHelpers.TryEnsureSufficientExecutionStack())
                throw ErrorAt(Current, $"nesting too deep: expressions or blocks nested more than {MaxNestingDepth} levels");
        }

        private T Leave<T>(T result)
        {
            _depth--;
            return result;
        }

        // Where a parenthesised expression's '(' is: a node built on it starts there, as in Python's ast
        // (the call in "(conv1).forward(x, )" starts at the '(').
        private readonly Dictionary<Expr, SourceSpan> _parenStart = new(ReferenceEqualityComparer.Instance);

        public Parser(string source, string path, List<Token> tokens)
        {
            _source = source;
            _path = path;
            _tokens = tokens;
            _byteOffsets = ComputeByteOffsets(source);
        }

        /// <summary>UTF-8 byte offset of every char index (and of the end).</summary>
        private static int[] ComputeByteOffsets(string s)
        {
            var offsets = new int[s.Length + 1];
            for (var i = 0; i < s.Length; i++)
            {
                var c = s[i];
                if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
                {
                    offsets[i + 1] = offsets[i] + 4; // never a token boundary
                    offsets[i + 2] = offsets[i] + 4;
                    i++;
                    continue;
                }
                offsets[i + 1] = offsets[i] + (c < 0x80 ? 1 : c < 0x800 ? 2 : 3);
            }
            return offsets;
        }

        // ---- token helpers ---------------------------------------------------------------------

        private Token Current => _tokens[_index];
        private Token PeekAt(int k) => _tokens[Math.Min(_index + k, _tokens.Count - 1)];

        private Token Advance()
        {
            var token = _tokens[_index];
            if (token.Kind == TokenKind.EndOfFile) return token;
            if (token.Kind is not (TokenKind.Newline or TokenKind.Indent or TokenKind.Dedent)) _lastEnd = token.End;
            _index++;
            return token;
        }

        private bool IsOp(string op) => Current.Kind == TokenKind.Op && Current.Text == op;
        private bool IsKeyword(string keyword) => Current.Kind == TokenKind.Name && Current.Text == keyword;

        private bool AcceptOp(string op)
        {
            if (!IsOp(op)) return false;
            Advance();
            return true;
        }

        private Token ExpectOp(string op, string? context = null)
        {
            if (!IsOp(op)) throw Expected($"'{op}'" + (context is null ? "" : " " + context));
            return Advance();
        }

        private Token ExpectKeyword(string keyword)
        {
            if (!IsKeyword(keyword)) throw Expected($"'{keyword}'");
            return Advance();
        }

        private string ExpectName(string what)
        {
            if (Current.Kind != TokenKind.Name || Keywords.Contains(Current.Text)) throw Expected(what);
            return Advance().Text;
        }

        private void ExpectNewline()
        {
            if (Current.Kind != TokenKind.Newline) throw Expected("end of line");
            Advance();
        }

        private ModelForgeException Expected(string what) => ErrorAt(Current, $"expected {what} but found {Describe(Current)}");

        private ModelForgeException ErrorAt(Token token, string message) =>
            SyntaxError(_path, _source, token.Line, token.Column, message);

        private static string Describe(Token t) => t.Kind switch
        {
            TokenKind.Name when Keywords.Contains(t.Text) => $"keyword '{t.Text}'",
            TokenKind.Name => $"name '{t.Text}'",
            TokenKind.Int or TokenKind.Float => $"number '{t.Text}'",
            TokenKind.String => $"string {Truncate(t.Text)}",
            TokenKind.Op => $"'{t.Text}'",
            TokenKind.Newline => "end of line",
            TokenKind.Indent => "an unexpected indent",
            TokenKind.Dedent => "the end of the indented block",
            _ => "end of file",
        };

        private static string Truncate(string s) => s.Length <= 40 ? s : s[..37] + "...";

        // ---- spans -------------------------------------------------------------------------------

        private SourceSpan SpanFrom(Token start) => MakeSpan(start.Start, start.Line, start.Column, _lastEnd);

        private SourceSpan SpanFrom(SourceSpan start) =>
            start with { Length = _byteOffsets[_lastEnd] - start.Offset };

        /// <summary>A span from the start of <paramref name="e"/> (its '(' when parenthesised) to the last token consumed.</summary>
        private SourceSpan SpanFrom(Expr e) => SpanFrom(_parenStart.TryGetValue(e, out var start) ? start : e.Span);

        private SourceSpan MakeSpan(int startChar, int line, int column, int endChar) =>
            new(_path, line, column, _byteOffsets[startChar], _byteOffsets[Math.Max(endChar, startChar)] - _byteOffsets[startChar]);

        // ---- file, class, def --------------------------------------------------------------------

        public ScriptFile ParseFile()
        {
            var classes = new List<ClassDef>();
            var functions = new List<FunctionDef>();
            while (Current.Kind != TokenKind.EndOfFile)
            {
                if (Current.Kind == TokenKind.Newline) { Advance(); continue; }
                if (Current.Kind == TokenKind.Indent) throw ErrorAt(Current, "unexpected indent");
                if (IsKeyword("class")) classes.Add(ParseClass());
                else if (IsKeyword("def")) functions.Add(ParseDef());
                else ParseStatement(); // imports and other top-level lines are dropped
            }
            return new ScriptFile(_path, classes, functions);
        }

        private ClassDef ParseClass()
        {
            var start = ExpectKeyword("class");
            var name = ExpectName("a class name");
            var bases = new List<Expr>();
            if (AcceptOp("("))
            {
                while (!IsOp(")"))
                {
                    bases.Add(ParseTest());
                    if (!AcceptOp(",")) break;
                }
                ExpectOp(")", "after the base classes");
            }
            ExpectOp(":", "after the class header");

            var body = new List<Stmt>();
            var methods = new List<FunctionDef>();
            if (Current.Kind != TokenKind.Newline)
            {
                body.AddRange(ParseSimpleLine());
            }
            else
            {
                Advance();
                if (Current.Kind != TokenKind.Indent) throw Expected("an indented class body");
                Advance();
                while (Current.Kind is not (TokenKind.Dedent or TokenKind.EndOfFile))
                {
                    if (IsKeyword("def")) methods.Add(ParseDef());
                    else if (IsKeyword("class")) throw ErrorAt(Current, "nested classes are not supported");
                    else body.AddRange(ParseStatement());
                }
                Advance();
            }
            return new ClassDef(SpanFrom(start), name, bases, body, methods);
        }

        private FunctionDef ParseDef()
        {
            var start = ExpectKeyword("def");
            var name = ExpectName("a function name");
            ExpectOp("(", "after the function name");
            var parameters = new List<Parameter>();
            while (!IsOp(")"))
            {
                if (IsOp("*") || IsOp("**")) throw ErrorAt(Current, "variadic parameters are not supported");
                var paramStart = Current;
                var paramName = ExpectName("a parameter name");
                var type = AcceptOp(":") ? ParseTest() : null;
                var @default = AcceptOp("=") ? ParseTest() : null;
                parameters.Add(new Parameter(SpanFrom(paramStart), paramName, type, @default));
                if (!AcceptOp(",")) break;
            }
            ExpectOp(")", "after the parameters");
            var returnType = AcceptOp("->") ? ParseTest() : null;
            ExpectOp(":", "after the function signature");
            var body = ParseSuite();
            return new FunctionDef(SpanFrom(start), name, parameters, returnType, body);
        }

        // ---- statements --------------------------------------------------------------------------

        /// <summary>A block after ':' — an indented block, or simple statements on the same line.</summary>
        private List<Stmt> ParseSuite()
        {
            Enter();
            return Leave(ParseSuiteBody());
        }

        private List<Stmt> ParseSuiteBody()
        {
            if (Current.Kind != TokenKind.Newline) return ParseSimpleLine();
            Advance();
            if (Current.Kind != TokenKind.Indent) throw Expected("an indented block");
            Advance();
            var body = new List<Stmt>();
            while (Current.Kind is not (TokenKind.Dedent or TokenKind.EndOfFile))
            {
                if (IsKeyword("def")) throw ErrorAt(Current, "nested functions are not supported");
                if (IsKeyword("class")) throw ErrorAt(Current, "nested classes are not supported");
                body.AddRange(ParseStatement());
            }
            Advance();
            return body;
        }

        private List<Stmt> ParseStatement()
        {
            if (Current.Kind == TokenKind.Indent) throw ErrorAt(Current, "unexpected indent");
            if (IsKeyword("if")) return [ParseIf(Advance())];
            if (IsKeyword("while"))
            {
                var start = Advance();
                var condition = ParseTest();
                ExpectOp(":", "after the while condition");
                var body = ParseSuite();
                return [new WhileStmt(SpanFrom(start), condition, body)];
            }
            if (IsKeyword("for"))
            {
                var start = Advance();
                var target = ParseTargetList();
                ExpectKeyword("in");
                var iterable = ParseTestList();
                ExpectOp(":", "after the for header");
                var body = ParseSuite();
                return [new ForStmt(SpanFrom(start), target, iterable, body)];
            }
            if (IsKeyword("with") || IsKeyword("try"))
                throw ErrorAt(Current, $"'{Current.Text}' statements are not supported in TorchScript source");
            return ParseSimpleLine();
        }

        /// <summary><c>if</c>/<c>elif</c> (the keyword already consumed); an <c>elif</c> becomes a nested IfStmt in Else.</summary>
        private IfStmt ParseIf(Token keyword)
        {
            var condition = ParseTest();
            ExpectOp(":", $"after the {keyword.Text} condition");
            var then = ParseSuite();
            IReadOnlyList<Stmt> orElse = [];
            if (IsKeyword("elif"))
            {
                Enter(); // an elif chain nests one IfStmt per elif
                orElse = [Leave(ParseIf(Advance()))];
            }
            else if (IsKeyword("else"))
            {
                Advance();
                ExpectOp(":", "after 'else'");
                orElse = ParseSuite();
            }
            return new IfStmt(SpanFrom(keyword), condition, then, orElse);
        }

        /// <summary>One or more simple statements separated by ';', then the end of the line.</summary>
        private List<Stmt> ParseSimpleLine()
        {
            var statements = new List<Stmt>();
            while (true)
            {
                var statement = ParseSmallStatement();
                if (statement is not null) statements.Add(statement);
                if (!AcceptOp(";") || Current.Kind == TokenKind.Newline) break;
            }
            ExpectNewline();
            return statements;
        }

        private Stmt? ParseSmallStatement()
        {
            var start = Current;
            if (start.Kind == TokenKind.Name)
            {
                switch (start.Text)
                {
                    case "pass": Advance(); return new PassStmt(SpanFrom(start));
                    case "break": Advance(); return new BreakStmt(SpanFrom(start));
                    case "continue": Advance(); return new ContinueStmt(SpanFrom(start));
                    case "return":
                    {
                        Advance();
                        var value = StartsExpression(Current) ? ParseTestList() : null;
                        return new ReturnStmt(SpanFrom(start), value);
                    }
                    case "raise":
                    {
                        Advance();
                        var exception = StartsExpression(Current) ? ParseTest() : null;
                        if (IsKeyword("from")) throw ErrorAt(Current, "'raise ... from' is not supported");
                        return new RaiseStmt(SpanFrom(start), exception);
                    }
                    case "assert":
                    {
                        Advance();
                        var condition = ParseTest();
                        var message = AcceptOp(",") ? ParseTest() : null;
                        return new AssertStmt(SpanFrom(start), condition, message);
                    }
                    case "del":
                    {
                        Advance();
                        var targets = new List<Expr>();
                        do
                        {
                            if (!StartsExpression(Current)) break;
                            targets.Add(CheckTarget(ParseBitOr(), "delete"));
                        } while (AcceptOp(","));
                        if (targets.Count == 0) throw Expected("a target after 'del'");
                        return new DelStmt(SpanFrom(start), targets);
                    }
                    case "import" or "from":
                        // Import lines carry no meaning for the converter; skip to the end of the line.
                        while (Current.Kind is not (TokenKind.Newline or TokenKind.EndOfFile)) Advance();
                        return null;
                }
            }

            var first = ParseTestList();
            if (IsOp(":"))
            {
                Advance();
                var annotation = ParseTest();
                var value = AcceptOp("=") ? ParseTestList() : null;
                return new AnnAssignStmt(SpanFrom(start), CheckTarget(first, "annotate", allowSequence: false), annotation, value);
            }
            if (Current.Kind == TokenKind.Op && AugmentedOps.Contains(Current.Text))
            {
                var op = Advance().Text[..^1];
                var value = ParseTestList();
                return new AugAssignStmt(SpanFrom(start), CheckTarget(first, "assign to", allowSequence: false), op, value);
            }
            if (IsOp("="))
            {
                var targets = new List<Expr> { CheckTarget(first, "assign to") };
                Advance();
                var value = ParseTestList();
                while (AcceptOp("="))
                {
                    targets.Add(CheckTarget(value, "assign to"));
                    value = ParseTestList();
                }
                return new AssignStmt(SpanFrom(start), targets, value);
            }
            return new ExprStmt(SpanFrom(start), first);
        }

        private Expr CheckTarget(Expr target, string verb, bool allowSequence = true)
        {
            switch (target)
            {
                case NameExpr or AttributeExpr or SubscriptExpr:
                    return target;
                case TupleExpr { Items: var items } when allowSequence:
                    foreach (var item in items) CheckTarget(item, verb);
                    return target;
                case ListExpr { Items: var items } when allowSequence:
                    foreach (var item in items) CheckTarget(item, verb);
                    return target;
                default:
                    throw SyntaxError(_path, _source, target.Span.Line, target.Span.Column,
                        $"cannot {verb} {DescribeExpr(target)}");
            }
        }

        private static string DescribeExpr(Expr e) => e switch
        {
            CallExpr => "a function call",
            ConstantExpr => "a literal",
            TupleExpr => "a tuple",
            ListExpr => "a list",
            _ => "an expression",
        };

        // ---- expressions -------------------------------------------------------------------------

        private static bool StartsExpression(Token t) => t.Kind switch
        {
            TokenKind.Name => !Keywords.Contains(t.Text) || t.Text is "not" or "None" or "True" or "False",
            TokenKind.Int or TokenKind.Float or TokenKind.String => true,
            TokenKind.Op => t.Text is "(" or "[" or "{" or "-" or "+" or "~",
            _ => false,
        };

        /// <summary><c>test (',' test)* [',']</c>; a comma makes a tuple without parentheses.</summary>
        private Expr ParseTestList()
        {
            var first = ParseTest();
            if (!IsOp(",")) return first;
            var items = new List<Expr> { first };
            while (AcceptOp(","))
            {
                if (!StartsExpression(Current)) break;
                items.Add(ParseTest());
            }
            return new TupleExpr(SpanFrom(first), items);
        }

        /// <summary>The target list of a <c>for</c> or a comprehension; stops before <c>in</c>.</summary>
        private Expr ParseTargetList()
        {
            var first = CheckTarget(ParseBitOr(), "assign to");
            if (!IsOp(",")) return first;
            var items = new List<Expr> { first };
            while (AcceptOp(","))
            {
                if (!StartsExpression(Current)) break;
                items.Add(CheckTarget(ParseBitOr(), "assign to"));
            }
            return new TupleExpr(SpanFrom(first), items);
        }

        /// <summary><c>or_test ['if' or_test 'else' test]</c>.</summary>
        private Expr ParseTest()
        {
            Enter();
            return Leave(ParseTestBody());
        }

        private Expr ParseTestBody()
        {
            if (IsKeyword("lambda")) throw ErrorAt(Current, "lambda expressions are not supported");
            var body = ParseOrTest();
            if (!IsKeyword("if")) return body;
            Advance();
            var condition = ParseOrTest();
            ExpectKeyword("else");
            var orElse = ParseTest();
            return new IfExpr(SpanFrom(body), condition, body, orElse);
        }

        private Expr ParseOrTest() => ParseBoolOp("or", ParseAndTest);
        private Expr ParseAndTest() => ParseBoolOp("and", ParseNotTest);

        private Expr ParseBoolOp(string op, Func<Expr> operand)
        {
            var first = operand();
            if (!IsKeyword(op)) return first;
            var values = new List<Expr> { first };
            while (IsKeyword(op))
            {
                Advance();
                values.Add(operand());
            }
            return new BoolOpExpr(SpanFrom(first), op, values);
        }

        private Expr ParseNotTest()
        {
            if (!IsKeyword("not")) return ParseComparison();
            var start = Advance();
            Enter();
            var operand = Leave(ParseNotTest());
            return new UnaryExpr(SpanFrom(start), "not", operand);
        }

        private Expr ParseComparison()
        {
            var left = ParseBitOr();
            List<string>? ops = null;
            List<Expr>? comparators = null;
            while (TryComparisonOp(out var op))
            {
                (ops ??= []).Add(op);
                (comparators ??= []).Add(ParseBitOr());
            }
            return ops is null ? left : new CompareExpr(SpanFrom(left), left, ops, comparators!);
        }

        private bool TryComparisonOp(out string op)
        {
            var t = Current;
            op = "";
            if (t.Kind == TokenKind.Op && t.Text is "==" or "!=" or "<" or "<=" or ">" or ">=")
            {
                op = Advance().Text;
                return true;
            }
            if (t.Kind != TokenKind.Name) return false;
            switch (t.Text)
            {
                case "in":
                    Advance();
                    op = "in";
                    return true;
                case "is":
                    Advance();
                    if (IsKeyword("not")) { Advance(); op = "is not"; }
                    else op = "is";
                    return true;
                case "not" when PeekAt(1) is { Kind: TokenKind.Name, Text: "in" }:
                    Advance();
                    Advance();
                    op = "not in";
                    return true;
                default:
                    return false;
            }
        }

        private Expr ParseBitOr() => ParseBinary(ParseBitXor, "|");
        private Expr ParseBitXor() => ParseBinary(ParseBitAnd, "^");
        private Expr ParseBitAnd() => ParseBinary(ParseShift, "&");
        private Expr ParseShift() => ParseBinary(ParseArith, "<<", ">>");
        private Expr ParseArith() => ParseBinary(ParseTerm, "+", "-");
        private Expr ParseTerm() => ParseBinary(ParseFactor, "*", "/", "//", "%", "@");

        /// <summary>A left-associative chain of one precedence level.</summary>
        private Expr ParseBinary(Func<Expr> operand, params string[] ops)
        {
            var left = operand();
            while (Current.Kind == TokenKind.Op && Array.IndexOf(ops, Current.Text) >= 0)
            {
                var op = Advance().Text;
                var right = operand();
                left = new BinaryExpr(SpanFrom(left), op, left, right);
            }
            return left;
        }

        /// <summary><c>('+'|'-'|'~') factor | power</c>.</summary>
        private Expr ParseFactor()
        {
            if (Current.Kind != TokenKind.Op || Current.Text is not ("-" or "+" or "~")) return ParsePower();
            var start = Advance();
            // -9223372036854775808 only exists as a whole: its magnitude does not fit in a long.
            if (start.Text == "-" && Current.Kind == TokenKind.Int && ReferenceEquals(Current.Value, ScriptLexer.MinLongMagnitude)
                && !(PeekAt(1) is { Kind: TokenKind.Op, Text: "**" or "." or "(" or "[" }))
            {
                Advance();
                return new ConstantExpr(SpanFrom(start), long.MinValue);
            }
            Enter();
            var operand = Leave(ParseFactor());
            return new UnaryExpr(SpanFrom(start), start.Text, operand);
        }

        /// <summary><c>primary ['**' factor]</c>: right-associative, and tighter than a unary operator on its left.</summary>
        private Expr ParsePower()
        {
            var left = ParsePrimary();
            if (!AcceptOp("**")) return left;
            Enter();
            var right = Leave(ParseFactor());
            return new BinaryExpr(SpanFrom(left), "**", left, right);
        }

        private Expr ParsePrimary()
        {
            var expr = ParseAtom();
            while (Current.Kind == TokenKind.Op)
            {
                if (AcceptOp("."))
                {
                    // Attribute names may be keywords in printed code (e.g. ops.prim.is...), so any name is fine.
                    if (Current.Kind != TokenKind.Name) throw Expected("an attribute name after '.'");
                    var name = Advance().Text;
                    expr = new AttributeExpr(SpanFrom(expr), expr, name);
                }
                else if (AcceptOp("("))
                {
                    expr = ParseCallRest(expr);
                }
                else if (AcceptOp("["))
                {
                    var index = ParseSubscriptList();
                    ExpectOp("]", "to close the subscript");
                    expr = new SubscriptExpr(SpanFrom(expr), expr, index);
                }
                else
                {
                    break;
                }
            }
            return expr;
        }

        private CallExpr ParseCallRest(Expr function)
        {
            var args = new List<Expr>();
            var keywords = new List<KeywordArg>();
            while (!IsOp(")"))
            {
                if (IsOp("*") || IsOp("**")) throw ErrorAt(Current, "argument unpacking is not supported");
                if (Current.Kind == TokenKind.Name && PeekAt(1) is { Kind: TokenKind.Op, Text: "=" })
                {
                    var start = Advance();
                    // As Python's parser does; found by the convert fuzz target (a repeated pin_memory=).
                    if (keywords.Any(k => k.Name == start.Text)) throw ErrorAt(start, $"keyword argument '{start.Text}' repeated");
                    Advance();
                    var value = ParseTest();
                    keywords.Add(new KeywordArg(SpanFrom(start), start.Text, value));
                }
                else
                {
                    if (keywords.Count > 0)
                        throw ErrorAt(Current, "positional argument follows keyword argument");
                    var arg = ParseTest();
                    if (IsKeyword("for")) throw ErrorAt(Current, "generator expressions are not supported");
                    args.Add(arg);
                }
                if (!AcceptOp(",")) break;
            }
            ExpectOp(")", "to close the call");
            return new CallExpr(SpanFrom(function), function, args, keywords);
        }

        /// <summary>The inside of <c>[...]</c> after a primary: one subscript, or several making a tuple.</summary>
        private Expr ParseSubscriptList()
        {
            var startToken = Current;
            var first = ParseSubscript();
            if (!IsOp(",")) return first;
            var items = new List<Expr> { first };
            while (AcceptOp(","))
            {
                if (IsOp("]")) break;
                items.Add(ParseSubscript());
            }
            return new TupleExpr(SpanFrom(startToken), items);
        }

        private Expr ParseSubscript()
        {
            var start = Current;
            var lower = IsOp(":") ? null : ParseTest();
            if (!IsOp(":")) return lower ?? throw Expected("an index");
            Advance();
            var upper = EndsSlicePart() ? null : ParseTest();
            Expr? step = null;
            if (AcceptOp(":") && !EndsSlicePart()) step = ParseTest();
            return new SliceExpr(SpanFrom(start), lower, upper, step);
        }

        private bool EndsSlicePart() => IsOp(":") || IsOp("]") || IsOp(",");

        private Expr ParseAtom()
        {
            var t = Current;
            switch (t.Kind)
            {
                case TokenKind.Int:
                    if (ReferenceEquals(t.Value, ScriptLexer.MinLongMagnitude))
                        throw ErrorAt(t, $"integer literal '{t.Text}' does not fit in 64 bits");
                    Advance();
                    return new ConstantExpr(SpanFrom(t), t.Value);
                case TokenKind.Float:
                    Advance();
                    return new ConstantExpr(SpanFrom(t), t.Value);
                case TokenKind.String:
                {
                    Advance();
                    var value = (string)t.Value!;
                    while (Current.Kind == TokenKind.String) value += (string)Advance().Value!;
                    return new ConstantExpr(SpanFrom(t), value);
                }
                case TokenKind.Name:
                    switch (t.Text)
                    {
                        case "True": Advance(); return new ConstantExpr(SpanFrom(t), true);
                        case "False": Advance(); return new ConstantExpr(SpanFrom(t), false);
                        case "None": Advance(); return new ConstantExpr(SpanFrom(t), null);
                    }
                    if (Keywords.Contains(t.Text)) throw Expected("an expression");
                    Advance();
                    return new NameExpr(SpanFrom(t), t.Text);
                case TokenKind.Op:
                    switch (t.Text)
                    {
                        case "(": return ParseParenthesized();
                        case "[": return ParseListDisplay();
                        case "{": return ParseDictDisplay();
                        case "...": throw ErrorAt(t, "'...' (Ellipsis) is not supported");
                    }
                    break;
            }
            throw Expected("an expression");
        }

        private Expr ParseParenthesized()
        {
            var start = Advance();
            if (AcceptOp(")")) return new TupleExpr(SpanFrom(start), []);
            var first = ParseTest();
            if (IsKeyword("for")) throw ErrorAt(Current, "generator expressions are not supported");
            if (!IsOp(","))
            {
                ExpectOp(")", "to close the parenthesis");
                _parenStart[first] = SpanFrom(start);
                return first;
            }
            var items = new List<Expr> { first };
            while (AcceptOp(","))
            {
                if (IsOp(")")) break;
                items.Add(ParseTest());
            }
            ExpectOp(")", "to close the tuple");
            return new TupleExpr(SpanFrom(start), items);
        }

        private Expr ParseListDisplay()
        {
            var start = Advance();
            if (AcceptOp("]")) return new ListExpr(SpanFrom(start), []);
            var first = ParseTest();
            if (IsKeyword("for"))
            {
                Advance();
                var target = ParseTargetList();
                ExpectKeyword("in");
                var iterable = ParseOrTest();
                if (IsKeyword("if") || IsKeyword("for"))
                    throw ErrorAt(Current, "list comprehensions with conditions or several 'for' clauses are not supported");
                ExpectOp("]", "to close the list comprehension");
                return new ListCompExpr(SpanFrom(start), first, target, iterable);
            }
            var items = new List<Expr> { first };
            while (AcceptOp(","))
            {
                if (IsOp("]")) break;
                items.Add(ParseTest());
            }
            ExpectOp("]", "to close the list");
            return new ListExpr(SpanFrom(start), items);
        }

        private Expr ParseDictDisplay()
        {
            var start = Advance();
            var keys = new List<Expr>();
            var values = new List<Expr>();
            while (!IsOp("}"))
            {
                keys.Add(ParseTest());
                if (!IsOp(":")) throw IsOp(",") || IsOp("}")
                    ? ErrorAt(Current, "set literals are not supported")
                    : Expected("':' in the dict literal");
                Advance();
                values.Add(ParseTest());
                if (!AcceptOp(",")) break;
            }
            ExpectOp("}", "to close the dict");
            return new DictExpr(SpanFrom(start), keys, values);
        }
    }
}
