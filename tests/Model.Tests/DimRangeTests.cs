using ModelForge.Core.Diagnostics;

namespace ModelForge.Model.Tests;

/// <summary><c>--dim NAME=MIN/OPT/MAX</c>: the one command-line spelling of a symbolic dim's range, read as a spec's <c>dims</c> entry.</summary>
public sealed class DimRangeTests
{
    [Theory]
    [InlineData("batch=1/8/32", "batch", 1, 8, 32)]
    [InlineData("batch=1/32", "batch", 1, 32, 32)]     // opt defaults to max, as in a spec without "opt"
    [InlineData("seq=128", "seq", 128, 128, 128)]      // one size: fixed
    [InlineData(" seq = 1 / 64 / 512 ", "seq", 1, 64, 512)]
    public void A_range_parses_from_three_two_or_one_sizes(string text, string name, long min, long opt, long max)
    {
        Assert.Equal((name, new DimRange(min, opt, max)), DimRange.Parse(text));
        Assert.Equal($"{min}/{opt}/{max}", DimRange.Parse(text).Range.ToString());
    }

    [Theory]
    [InlineData("batch", "is not NAME=MIN/OPT/MAX")]
    [InlineData("=8", "is not NAME=MIN/OPT/MAX")]
    [InlineData("batch=", "has '', which is not a positive int")]
    [InlineData("batch=1x8", "has '1x8', which is not a positive int")]
    [InlineData("batch=-1/8", "has '-1', which is not a positive int")]
    [InlineData("batch=0/8", "has '0', which is not a positive int")]
    [InlineData("batch=1/2/3/4", "has 4 sizes")]
    [InlineData("batch=8/1/16", "has min 8, opt 1, max 16: it needs min ≤ opt ≤ max")]
    [InlineData("batch=1/32/16", "has min 1, opt 32, max 16")]
    public void A_malformed_range_is_MF5005_saying_what_dim_takes(string text, string problem)
    {
        var error = Assert.Throws<ModelForgeException>(() => DimRange.Parse(text));
        Assert.Equal(DiagnosticCode.CommandLineInvalid, error.Code);
        Assert.Contains($"--dim '{text}' {problem}", error.Message);
        Assert.Contains("NAME=MIN/OPT/MAX", error.Diagnostics[0].Hint);
    }

    [Fact]
    public void Every_range_must_name_a_symbolic_dim_of_the_inputs_once()
    {
        IReadOnlyList<InputSpec> inputs = [InputSpec.Parse("ids:int64[batch,seq]"), InputSpec.Parse("mask:bool[batch,seq]")];
        var ranges = DimRange.ParseAll(["batch=1/8", "seq=16/128/512"], inputs);
        Assert.Equal(new DimRange(1, 8, 8), ranges["batch"]);
        Assert.Equal(new DimRange(16, 128, 512), ranges["seq"]);

        var unknown = Assert.Throws<ModelForgeException>(() => DimRange.ParseAll(["len=4"], inputs));
        Assert.Contains("names 'len', which is no symbolic dim of the inputs (symbolic dims: batch, seq)", unknown.Message);
        var twice = Assert.Throws<ModelForgeException>(() => DimRange.ParseAll(["seq=4", "seq=8"], inputs));
        Assert.Contains("is the second --dim for 'seq'", twice.Message);
        var allStatic = Assert.Throws<ModelForgeException>(() => DimRange.ParseAll(["batch=4"], [InputSpec.Parse("x:float32[1,3]")]));
        Assert.Contains("(they are all static)", allStatic.Message);
    }
}
