using ModelForge.Core.Diagnostics;
using ModelForge.Model;

namespace ModelForge.Validate.Tests.Inputs;

public class InputRangeTests
{
    [Theory]
    [InlineData("ids:0:30000", "ids", 0, 30000)]
    [InlineData("x:-1:1", "x", -1, 1)]
    [InlineData(" input.1 : -0.5 : 2.5e1 ", "input.1", -0.5, 25)]
    public void Parses(string text, string name, double low, double high)
    {
        var range = InputRange.Parse(text);
        Assert.Equal(new InputRange(name, low, high), range);
    }

    [Theory]
    [InlineData("ids", "NAME:LOW:HIGH")]
    [InlineData("ids:0", "NAME:LOW:HIGH")]
    [InlineData("ids:0:1:2", "NAME:LOW:HIGH")]
    [InlineData(":0:1", "input name")]
    [InlineData("ids:a:1", "LOW 'a'")]
    [InlineData("ids:0:nan", "HIGH 'nan'")]
    [InlineData("ids:0:inf", "HIGH 'inf'")]
    [InlineData("ids:5:5", "LOW (5) must be less than HIGH (5)")]
    [InlineData("ids:5:1", "must be less than")]
    public void RejectsBadSyntax(string text, string fragment)
    {
        var error = Assert.Throws<ModelForgeException>(() => InputRange.Parse(text));
        Assert.Equal(DiagnosticCode.InputSpecInvalid, error.Code);
        Assert.Contains(fragment, error.Message);
        Assert.Contains("--range", error.Diagnostics[0].Hint);
    }

    [Fact]
    public void ParseAllRejectsDuplicates()
    {
        var ranges = InputRange.ParseAll(["a:0:1", "b:2:3"]);
        Assert.Equal(2, ranges.Count);
        var error = Assert.Throws<ModelForgeException>(() => InputRange.ParseAll(["a:0:1", "a:2:3"]));
        Assert.Contains("second range", error.Message);
    }

    [Fact]
    public void FormatsAsHalfOpenInterval()
    {
        Assert.Equal("[-1, 0.5)", new InputRange("x", -1, 0.5).ToString());
        Assert.True(new InputRange("x", 0, 3).IsIntegral);
        Assert.False(new InputRange("x", 0, 3.5).IsIntegral);
    }
}
