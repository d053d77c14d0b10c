using ModelForge.Core.Diagnostics;
using static ModelForge.Convert.Tests.Archive.ArchiveFixtures;

namespace ModelForge.Convert.Tests.Interpret;

/// <summary>
/// A for loop over a static range() unrolls at conversion time. Step 0 (which Python refuses) used to loop forever
/// when start &gt; stop, and a huge range unrolled without end; both are refused naming the line.
/// </summary>
public class StaticRangeTests
{
    [Theory]
    [InlineData("range(3, 0, 0)", DiagnosticCode.InvalidOpArguments, "range() with step 0")]
    [InlineData("range(0, 9223372036854775807)", DiagnosticCode.UnsupportedConstruct, "range() has 9223372036854775807 elements")]
    [InlineData("range(9223372036854775807, -9223372036854775807, -1)", DiagnosticCode.UnsupportedConstruct, "range() has 18446744073709551614 elements")]
    public void A_range_that_cannot_unroll_is_refused_naming_the_line(string range, DiagnosticCode code, string message)
    {
        var e = Throws(code, () => ConvertIndexArithmeticWith(Loop(range)));
        var diagnostic = Assert.Single(e.Diagnostics);
        Assert.StartsWith(message, diagnostic.Message);
        Assert.Contains("model.pt!/code/__torch__.py(", diagnostic.Location!.ToString());
    }

    [Theory]
    [InlineData("range(3)")]
    [InlineData("range(5, 0, -2)")]
    [InlineData("range(0, 5, -1)")] // empty: the body never runs
    public void A_static_range_unrolls(string range) => ConvertIndexArithmeticWith(Loop(range));

    private static string Loop(string range) =>
        $"_2 = ids\n    for _i in {range}:\n      _2 = torch.add(_2, _i)";
}
