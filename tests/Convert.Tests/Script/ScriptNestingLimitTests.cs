using ModelForge.Core.Diagnostics;
using ModelForge.TorchScript.Script;

namespace ModelForge.Convert.Tests.Script;

/// <summary>
/// Deep nesting is refused with MF1020 instead of overflowing the stack (which would kill the process). The parse
/// runs on a thread with a 1 MiB stack, smaller than any the CLI or the test host uses.
/// </summary>
public class ScriptNestingLimitTests
{
    private const int Limit = ScriptParser.MaxNestingDepth;

    private static string Function(string body) => "def f(x: Tensor) -> Tensor:\n" + body;

    public static TheoryData<string> Deep(int levels) => new()
    {
        Function("  return " + new string('(', levels) + "x" + new string(')', levels) + "\n"),
        Function("  return " + new string('[', levels) + "x" + new string(']', levels) + "\n"),
        Function("  return " + string.Concat(Enumerable.Repeat("f(", levels)) + "x" + new string(')', levels) + "\n"),
        Function("  return " + new string('-', levels) + "x\n"),
        Function("  return " + string.Concat(Enumerable.Repeat("not ", levels)) + "x\n"),
        Function("  return " + string.Concat(Enumerable.Repeat("x ** ", levels)) + "x\n"),
        Function("  return " + string.Concat(Enumerable.Repeat("x if x else ", levels)) + "x\n"),
        // Indented blocks: the source grows with the square of the depth, so the hostile case stops at 3000.
        Function(string.Concat(Enumerable.Range(1, Math.Min(levels, 3000)).Select(i => new string(' ', i) + "if x:\n")) + new string(' ', Math.Min(levels, 3000) + 1) + "pass\n"),
        Function("  if x:\n    pass\n" + string.Concat(Enumerable.Repeat("  elif x:\n    pass\n", levels))),
    };

    public static TheoryData<string> TooDeep => Deep(Limit + 5);
    public static TheoryData<string> Hostile => Deep(100_000);
    public static TheoryData<string> Allowed => Deep(Limit - 10);

    [Theory]
    [MemberData(nameof(TooDeep))]
    [MemberData(nameof(Hostile))]
    public void Nesting_beyond_the_limit_is_MF1020(string source)
    {
        var e = Assert.Throws<ModelForgeException>(() => OnSmallStack(() => ScriptParser.Parse(source, "code/deep.py")));
        Assert.Equal(DiagnosticCode.ScriptSyntaxError, e.Code);
        Assert.Contains("nesting too deep", e.Message);
    }

    [Theory]
    [MemberData(nameof(Allowed))]
    public void Nesting_below_the_limit_parses(string source) =>
        OnSmallStack(() => ScriptParser.Parse(source, "code/deep.py"));

    private static void OnSmallStack(Action action)
    {
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try { action(); }
            catch (Exception e) { error = e; }
        }, maxStackSize: 1 << 20);
        thread.Start();
        thread.Join();
        if (error is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
    }
}
