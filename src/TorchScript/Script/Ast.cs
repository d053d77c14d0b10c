namespace ModelForge.TorchScript.Script;

/// <summary>
/// A position in a serialized TorchScript source file (<c>code/__torch__/…py</c> inside the archive).
/// <see cref="Offset"/> is the byte offset into the UTF-8 file; the <c>.debug_pkl</c> tables are keyed by it.
/// </summary>
public readonly record struct SourceSpan(string File, int Line, int Column, int Offset, int Length)
{
    public override string ToString() => $"{File}({Line},{Column})";
}

/// <summary>The AST of the Python subset that <c>torch.jit.save</c> writes. Every node keeps its span.</summary>
public abstract record AstNode(SourceSpan Span);

// ---- files, classes, functions -------------------------------------------------------------

/// <summary>One source file: its classes and free functions (imports and other top-level lines are dropped).</summary>
public sealed record ScriptFile(string Path, IReadOnlyList<ClassDef> Classes, IReadOnlyList<FunctionDef> Functions);

/// <summary>
/// <c>class Name(Base):</c> with its body. <see cref="Body"/> holds the non-method statements in order
/// (<c>__parameters__ = [...]</c>, <c>training : bool</c>, <c>__annotations__["0"] = T</c>, …).
/// </summary>
public sealed record ClassDef(SourceSpan Span, string Name, IReadOnlyList<Expr> Bases, IReadOnlyList<Stmt> Body,
    IReadOnlyList<FunctionDef> Methods) : AstNode(Span);

public sealed record FunctionDef(SourceSpan Span, string Name, IReadOnlyList<Parameter> Parameters, Expr? ReturnType,
    IReadOnlyList<Stmt> Body) : AstNode(Span);

public sealed record Parameter(SourceSpan Span, string Name, Expr? Type, Expr? Default) : AstNode(Span);

// ---- statements ------------------------------------------------------------------------------

public abstract record Stmt(SourceSpan Span) : AstNode(Span);

/// <summary><c>a = b = value</c>; a target may be a Name, Attribute, Subscript or a Tuple/List of targets.</summary>
public sealed record AssignStmt(SourceSpan Span, IReadOnlyList<Expr> Targets, Expr Value) : Stmt(Span);

/// <summary><c>target : Type</c> or <c>target : Type = value</c>.</summary>
public sealed record AnnAssignStmt(SourceSpan Span, Expr Target, Expr Annotation, Expr? Value) : Stmt(Span);

/// <summary><c>target op= value</c>; <see cref="Op"/> is the binary operator without '=' (e.g. "+").</summary>
public sealed record AugAssignStmt(SourceSpan Span, Expr Target, string Op, Expr Value) : Stmt(Span);

public sealed record ExprStmt(SourceSpan Span, Expr Value) : Stmt(Span);
public sealed record ReturnStmt(SourceSpan Span, Expr? Value) : Stmt(Span);
public sealed record IfStmt(SourceSpan Span, Expr Condition, IReadOnlyList<Stmt> Then, IReadOnlyList<Stmt> Else) : Stmt(Span);
public sealed record ForStmt(SourceSpan Span, Expr Target, Expr Iterable, IReadOnlyList<Stmt> Body) : Stmt(Span);
public sealed record WhileStmt(SourceSpan Span, Expr Condition, IReadOnlyList<Stmt> Body) : Stmt(Span);
public sealed record PassStmt(SourceSpan Span) : Stmt(Span);
public sealed record BreakStmt(SourceSpan Span) : Stmt(Span);
public sealed record ContinueStmt(SourceSpan Span) : Stmt(Span);
public sealed record RaiseStmt(SourceSpan Span, Expr? Exception) : Stmt(Span);
public sealed record AssertStmt(SourceSpan Span, Expr Condition, Expr? Message) : Stmt(Span);
public sealed record DelStmt(SourceSpan Span, IReadOnlyList<Expr> Targets) : Stmt(Span);

// ---- expressions -----------------------------------------------------------------------------

public abstract record Expr(SourceSpan Span) : AstNode(Span);

public sealed record NameExpr(SourceSpan Span, string Id) : Expr(Span);

/// <summary>A literal: <c>long</c>, <c>double</c>, <c>bool</c>, <c>string</c>, or null for <c>None</c>.</summary>
public sealed record ConstantExpr(SourceSpan Span, object? Value) : Expr(Span);

public sealed record AttributeExpr(SourceSpan Span, Expr Target, string Name) : Expr(Span);
public sealed record KeywordArg(SourceSpan Span, string Name, Expr Value) : AstNode(Span);
public sealed record CallExpr(SourceSpan Span, Expr Function, IReadOnlyList<Expr> Args, IReadOnlyList<KeywordArg> Keywords) : Expr(Span);
public sealed record SubscriptExpr(SourceSpan Span, Expr Target, Expr Index) : Expr(Span);

/// <summary><c>lower:upper:step</c> inside a subscript; absent parts are null.</summary>
public sealed record SliceExpr(SourceSpan Span, Expr? Lower, Expr? Upper, Expr? Step) : Expr(Span);

public sealed record TupleExpr(SourceSpan Span, IReadOnlyList<Expr> Items) : Expr(Span);
public sealed record ListExpr(SourceSpan Span, IReadOnlyList<Expr> Items) : Expr(Span);
public sealed record DictExpr(SourceSpan Span, IReadOnlyList<Expr> Keys, IReadOnlyList<Expr> Values) : Expr(Span);

/// <summary><c>-x</c>, <c>+x</c>, <c>not x</c>, <c>~x</c>; <see cref="Op"/> is "-", "+", "not" or "~".</summary>
public sealed record UnaryExpr(SourceSpan Span, string Op, Expr Operand) : Expr(Span);

/// <summary>Arithmetic and bitwise operators: + - * / // % ** @ &amp; | ^ &lt;&lt; &gt;&gt;.</summary>
public sealed record BinaryExpr(SourceSpan Span, string Op, Expr Left, Expr Right) : Expr(Span);

/// <summary>A comparison chain <c>a &lt; b &lt;= c</c>; ops are "==", "!=", "&lt;", "&lt;=", "&gt;", "&gt;=", "is", "is not", "in", "not in".</summary>
public sealed record CompareExpr(SourceSpan Span, Expr Left, IReadOnlyList<string> Ops, IReadOnlyList<Expr> Comparators) : Expr(Span);

/// <summary><c>a and b and c</c> / <c>a or b</c>; <see cref="Op"/> is "and" or "or".</summary>
public sealed record BoolOpExpr(SourceSpan Span, string Op, IReadOnlyList<Expr> Values) : Expr(Span);

/// <summary><c>body if condition else orElse</c>.</summary>
public sealed record IfExpr(SourceSpan Span, Expr Condition, Expr Body, Expr OrElse) : Expr(Span);

/// <summary><c>[element for target in iterable]</c> (scripted code only; one generator, no conditions).</summary>
public sealed record ListCompExpr(SourceSpan Span, Expr Element, Expr Target, Expr Iterable) : Expr(Span);
