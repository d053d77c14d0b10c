using ModelForge.Model;
using ModelForge.Validate.Compare;

namespace ModelForge.Validate.Tests.Compare;

public class ToleranceSettingsTests
{
    [Theory]
    [InlineData(DataType.Float32, 1e-4, 1e-3)]
    [InlineData(DataType.Float64, 1e-4, 1e-3)]
    [InlineData(DataType.Float16, 1e-2, 1e-2)]
    [InlineData(DataType.BFloat16, 5e-2, 5e-2)]
    [InlineData(DataType.Int64, 0.0, 0.0)]
    [InlineData(DataType.Int32, 0.0, 0.0)]
    [InlineData(DataType.UInt8, 0.0, 0.0)]
    [InlineData(DataType.Bool, 0.0, 0.0)]
    public void Defaults_by_element_type(DataType type, double atol, double rtol) =>
        Assert.Equal(new Tolerance(atol, rtol), ToleranceSettings.Default.For("y", type));

    [Fact]
    public void Per_output_override_wins_over_the_type_default_for_that_name_only()
    {
        var settings = ToleranceSettings.Default with
        {
            PerOutput = new Dictionary<string, Tolerance> { ["logits"] = new(0.5, 0) },
        };

        Assert.Equal(new Tolerance(0.5, 0), settings.For("logits", DataType.Float32));
        Assert.Equal(new Tolerance(0.5, 0), settings.For("logits", DataType.Float16));
        Assert.Equal(new Tolerance(1e-4, 1e-3), settings.For("features", DataType.Float32));
    }

    [Fact]
    public void Integer_outputs_stay_exact_even_with_a_per_output_override()
    {
        var settings = ToleranceSettings.Default with
        {
            PerOutput = new Dictionary<string, Tolerance> { ["labels"] = new(1, 0) },
        };

        Assert.Equal(ToleranceSettings.Exact, settings.For("labels", DataType.Int64));
    }

    [Fact]
    public void WithGlobal_replaces_every_float_default_and_keeps_the_missing_half()
    {
        var settings = ToleranceSettings.Default.WithGlobal(1e-6, null);

        Assert.Equal(new Tolerance(1e-6, 1e-3), settings.For("y", DataType.Float32));
        Assert.Equal(new Tolerance(1e-6, 1e-3), settings.For("y", DataType.Float64));
        Assert.Equal(new Tolerance(1e-6, 1e-2), settings.For("y", DataType.Float16));
        Assert.Equal(new Tolerance(1e-6, 5e-2), settings.For("y", DataType.BFloat16));
        Assert.Equal(ToleranceSettings.Exact, settings.For("y", DataType.Int32));
    }

    [Fact]
    public void WithGlobal_does_not_beat_a_per_output_override()
    {
        var settings = (ToleranceSettings.Default with
        {
            PerOutput = new Dictionary<string, Tolerance> { ["logits"] = new(0.5, 0) },
        }).WithGlobal(1e-6, 1e-6);

        Assert.Equal(new Tolerance(0.5, 0), settings.For("logits", DataType.Float32));
        Assert.Equal(new Tolerance(1e-6, 1e-6), settings.For("other", DataType.Float32));
    }

    [Fact]
    public void WithGlobal_without_values_changes_nothing()
    {
        var settings = ToleranceSettings.Default.WithGlobal(null, null);

        foreach (var type in new[] { DataType.Float32, DataType.Float64, DataType.Float16, DataType.BFloat16 })
            Assert.Equal(ToleranceSettings.Default.For("y", type), settings.For("y", type));
    }
}
