using ModelForge.Optimize;

namespace ModelForge.Optimize.Tests;

public class PrecisionNamesTests
{
    [Theory]
    [InlineData("fp32", Precision.Fp32)]
    [InlineData("FP16", Precision.Fp16)]
    [InlineData("int8", Precision.Int8)]
    [InlineData("int8-dynamic", Precision.Int8Dynamic)]
    public void EverySpellingParsesAndRoundTrips(string text, Precision expected)
    {
        Assert.True(PrecisionNames.TryParse(text, out var parsed));
        Assert.Equal(expected, parsed);
        Assert.Equal(text.ToLowerInvariant(), parsed.Name());
    }

    [Fact]
    public void AnUnknownPrecisionIsRefused() => Assert.False(PrecisionNames.TryParse("int4", out _));
}
