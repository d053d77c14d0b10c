using System.Globalization;
using ModelForge.TorchScript.Script;

namespace ModelForge.Convert.Tests.Script;

/// <summary>Renders an expression fully parenthesised, so tests can state the parse tree in one readable string.</summary>
internal static class AstPrinter
{
    public static string Print(Expr e) => e switch
    {
        NameExpr n => n.Id,
        ConstantExpr { Value: null } => "None",
        ConstantExpr { Value: bool b } => b ? "True" : "False",
        ConstantExpr { Value: string s } => $"'{s}'",
        ConstantExpr { Value: double d } => d.ToString("R", CultureInfo.InvariantCulture).ToLowerInvariant() + "f",
        ConstantExpr c => System.Convert.ToString(c.Value, CultureInfo.InvariantCulture)!,
        AttributeExpr a => $"{Print(a.Target)}.{a.Name}",
        CallExpr c => $"{Print(c.Function)}({string.Join(", ", c.Args.Select(Print).Concat(c.Keywords.Select(k => $"{k.Name}={Print(k.Value)}")))})",
        SubscriptExpr s => $"{Print(s.Target)}[{Print(s.Index)}]",
        SliceExpr s => $"{Opt(s.Lower)}:{Opt(s.Upper)}" + (s.Step is null ? "" : $":{Print(s.Step)}"),
        TupleExpr t => t.Items.Count == 1 ? $"({Print(t.Items[0])},)" : $"({string.Join(", ", t.Items.Select(Print))})",
        ListExpr l => $"[{string.Join(", ", l.Items.Select(Print))}]",
        DictExpr d => $"{{{string.Join(", ", d.Keys.Zip(d.Values, (k, v) => $"{Print(k)}: {Print(v)}"))}}}",
        UnaryExpr u => u.Op == "not" ? $"(not {Print(u.Operand)})" : $"({u.Op}{Print(u.Operand)})",
        BinaryExpr b => $"({Print(b.Left)} {b.Op} {Print(b.Right)})",
        CompareExpr c => $"({Print(c.Left)}{string.Concat(c.Ops.Zip(c.Comparators, (op, r) => $" {op} {Print(r)}"))})",
        BoolOpExpr b => $"({string.Join($" {b.Op} ", b.Values.Select(Print))})",
        IfExpr i => $"({Print(i.Body)} if {Print(i.Condition)} else {Print(i.OrElse)})",
        ListCompExpr l => $"[{Print(l.Element)} for {Print(l.Target)} in {Print(l.Iterable)}]",
        _ => throw new ArgumentOutOfRangeException(nameof(e), e.GetType().Name),
    };

    private static string Opt(Expr? e) => e is null ? "" : Print(e);
}
