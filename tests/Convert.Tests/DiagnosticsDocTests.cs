using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Tests;

public sealed class DiagnosticsDocTests
{
    /// <summary>docs/diagnostics.md lists every code users can see, with its enum name.</summary>
    [Fact]
    public void Every_diagnostic_code_is_documented()
    {
        var doc = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "diagnostics.md"));
        var missing = Enum.GetValues<DiagnosticCode>().Where(code => !doc.Contains($"| {code.AsString()} | {code} |")).ToList();
        Assert.True(missing.Count == 0, "undocumented in docs/diagnostics.md: " + string.Join(", ", missing.Select(c => $"{c.AsString()} {c}")));
    }
}
