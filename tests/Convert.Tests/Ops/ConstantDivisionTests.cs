using ModelForge.Core.Diagnostics;
using static ModelForge.Convert.Tests.Archive.ArchiveFixtures;

namespace ModelForge.Convert.Tests.Ops;

/// <summary>
/// Integer division of two constants is folded at conversion time; by zero it raises in torch for every input, so
/// it is MF2007 naming the op, never a crash (the CI fuzz smoke found <c>torch.div(…, rounding_mode="trunc")</c>
/// on a zero constant throwing DivideByZeroException). The archive is fixtures/ops/int64_index_arithmetic with its
/// remainder call replaced.
/// </summary>
public class ConstantDivisionTests
{
    [Theory]
    [InlineData("torch.remainder(5, 0)", "aten::remainder")]
    [InlineData("torch.floor_divide(7, 0)", "aten::floor_divide")]
    [InlineData("torch.div(7, 0, rounding_mode=\"trunc\")", "aten::div")]
    public void Integer_division_of_constants_by_zero_is_MF2007_naming_the_op(string call, string op)
    {
        var e = Throws(DiagnosticCode.InvalidOpArguments, () => ConvertIndexArithmeticWith($"_2 = torch.add(ids, {call})"));
        var diagnostic = Assert.Single(e.Diagnostics);
        Assert.StartsWith($"{op} of the int64 constants", diagnostic.Message);
        Assert.Contains("ZeroDivisionError", diagnostic.Hint);
    }

    [Fact]
    public void The_unchanged_archive_converts() => ConvertIndexArithmeticWith(IndexArithmeticRemainderLine); // the rewrite itself is not what fails above
}
