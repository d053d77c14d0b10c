using ModelForge.Core.Diagnostics;
using ModelForge.Model;

namespace ModelForge.Engine.Tests;

public sealed class ShapeProfileTests
{
    private static readonly Dictionary<string, DimRange> NoRanges = [];

    [Theory]
    [InlineData("x:[1,3,224,224]/[8,3,224,224]/[32,3,224,224]")]
    [InlineData("x:1x3x224x224/8x3x224x224/32x3x224x224")] // the legacy spelling
    public void A_profile_parses_in_brackets_or_the_legacy_x_form_and_prints_back_in_brackets(string text)
    {
        var profile = ShapeProfile.Parse(text);
        Assert.Equal("x", profile.Input);
        Assert.Equal([1L, 3, 224, 224], profile.Min);
        Assert.Equal([8L, 3, 224, 224], profile.Opt);
        Assert.Equal([32L, 3, 224, 224], profile.Max);
        Assert.Equal("x:[1,3,224,224]/[8,3,224,224]/[32,3,224,224]", profile.ToString());
        Assert.Equal(profile.ToString(), ShapeProfile.Parse(profile.ToString()).ToString());
        Assert.Equal("x:8x3x224x224", ShapeProfile.Format(profile.Input, profile.Opt));
    }

    [Theory]
    [InlineData("encoder.ids:0:1x1/1x8/1x16")]
    [InlineData("encoder.ids:0:[1,1]/[1,8]/[1,16]")]
    public void Input_names_with_dots_and_colons_keep_everything_before_the_shapes(string text)
    {
        Assert.Equal("encoder.ids:0", ShapeProfile.Parse(text).Input);
    }

    [Theory]
    [InlineData("x")]                                  // no shapes
    [InlineData(":1/1/1")]                             // no name
    [InlineData("x:1x3/8x3")]                          // two shapes
    [InlineData("x:[1,3]/[8,3]")]                      // two shapes
    [InlineData("x:1x3/8x3/16x3/32x3")]                // four shapes
    [InlineData("x:1x3/8xthree/16x3")]                 // not a number
    [InlineData("x:[1,3]/[8,three]/[16,3]")]           // not a number
    [InlineData("x:[1,3]/[8,3/[16,3]")]                // no closing bracket
    [InlineData("x:0x3/8x3/16x3")]                     // zero dim
    [InlineData("x:[0,3]/[8,3]/[16,3]")]               // zero dim
    [InlineData("x:1x3/8x3/16")]                       // ranks differ
    [InlineData("x:[8,3]/[1,3]/[16,3]")]               // min > opt
    [InlineData("x:1x3/16x3/8x3")]                     // opt > max
    [InlineData("a,b:1/1/1")]                          // ',' would break ORT's list syntax
    public void Malformed_profiles_are_MF6002_with_a_hint(string text)
    {
        var error = Assert.Throws<ModelForgeException>(() => ShapeProfile.Parse(text));
        Assert.Equal(DiagnosticCode.EngineProfileInvalid, error.Code);
        Assert.Contains(text, error.Message);
        Assert.Contains("--dim batch=1/8/32", error.Diagnostics[0].Hint);
        Assert.Contains("NAME:MIN/OPT/MAX", error.Diagnostics[0].Hint);
    }

    [Fact]
    public void The_default_profile_spans_batch_1_to_max_batch_tuned_for_max_batch_with_static_dims_fixed()
    {
        var profile = Assert.Single(ShapeProfiles.Resolve([InputSpec.Parse("x:float32[batch,3,64,64]")], NoRanges, 8));
        Assert.Equal("x:[1,3,64,64]/[8,3,64,64]/[8,3,64,64]", profile.ToString());
    }

    [Fact]
    public void A_dim_range_spans_every_input_that_has_the_dim_and_static_inputs_get_no_profile()
    {
        var inputs = new[] { InputSpec.Parse("image:float32[batch,3,32,32]"), InputSpec.Parse("scale:float32[1]"), InputSpec.Parse("mask:bool[batch,4]") };
        var profiles = ShapeProfiles.Resolve(inputs, new Dictionary<string, DimRange> { ["batch"] = new(2, 4, 16) }, 4);
        Assert.Equal(["image:[2,3,32,32]/[4,3,32,32]/[16,3,32,32]", "mask:[2,4]/[4,4]/[16,4]"], profiles.Select(p => p.ToString()));
    }

    [Fact]
    public void The_batch_dim_is_dim_0_of_the_first_input_and_spans_its_range_wherever_its_symbol_is()
    {
        // Before BatchDim, each input's own symbolic dim 0 got the batch range (n in y here), and the batch symbol
        // anywhere but dim 0 (m's dim 1) needed a profile of its own.
        var inputs = new[] { InputSpec.Parse("x:float32[batch,3]"), InputSpec.Parse("m:float32[3,batch]"), InputSpec.Parse("y:float32[n,3]") };
        var error = Assert.Throws<ModelForgeException>(() => ShapeProfiles.Resolve(inputs, NoRanges, 8));
        Assert.Equal(DiagnosticCode.EngineProfileInvalid, error.Code);
        Assert.Contains("'n'", error.Message);
        Assert.Contains("--dim n=1/128/512", error.Diagnostics[0].Hint);

        var profiles = ShapeProfiles.Resolve(inputs, new Dictionary<string, DimRange> { ["n"] = new(1, 4, 8) }, 8);
        Assert.Equal(["x:[1,3]/[8,3]/[8,3]", "m:[3,1]/[3,8]/[3,8]", "y:[1,3]/[4,3]/[8,3]"], profiles.Select(p => p.ToString()));
    }

    [Fact]
    public void A_symbolic_dim_other_than_the_batch_needs_a_range_and_the_hint_shows_one_for_the_command_line_and_a_spec()
    {
        var inputs = new[] { InputSpec.Parse("ids:int64[batch,seq]") };
        var error = Assert.Throws<ModelForgeException>(() => ShapeProfiles.Resolve(inputs, NoRanges, 8));
        Assert.Equal(DiagnosticCode.EngineProfileInvalid, error.Code);
        Assert.Contains("'seq'", error.Message);
        Assert.Contains("--dim seq=1/128/512", error.Diagnostics[0].Hint);
        Assert.Contains("\"seq\": { \"min\": 1, \"opt\": 128, \"max\": 512 }", error.Diagnostics[0].Hint);
        Assert.Equal("ids:[1,16]/[8,128]/[8,512]",
            Assert.Single(ShapeProfiles.Resolve(inputs, new Dictionary<string, DimRange> { ["seq"] = new(16, 128, 512) }, 8)).ToString());
    }

    [Theory]
    [InlineData("x:1x3x64x64/8x3x64x64/16x3x64x64")]
    [InlineData("x:[1,3,64,64]/[8,3,64,64]/[16,3,64,64]")]
    public void A_legacy_profile_gives_the_same_profiles_as_the_dim_range_it_spells(string text)
    {
        var inputs = new[] { ResNetOnnx.Input };
        var fromProfile = ShapeProfiles.Resolve(inputs, ShapeProfiles.WithProfiles(inputs, NoRanges, [ShapeProfile.Parse(text)]), 8);
        var fromDim = ShapeProfiles.Resolve(inputs, new Dictionary<string, DimRange> { ["batch"] = new(1, 8, 16) }, 8);
        Assert.Equal(fromDim.Select(p => p.ToString()), fromProfile.Select(p => p.ToString()));
    }

    [Theory]
    [InlineData("y:1x3x64x64/2x3x64x64/4x3x64x64", "not declared")]
    [InlineData("x:1x3x64/2x3x64/4x3x64", "rank 3")]
    [InlineData("x:1x3x32x64/8x3x64x64/16x3x64x64", "static (64)")]
    [InlineData("x:1x3x64x64/2x3x64x64/4x3x64x64", "gives dim 'batch' the range 1/2/4, but it already has 1/8/16")]
    public void Profiles_that_do_not_fit_the_declared_input_or_the_dim_ranges_are_MF6002(string text, string expected)
    {
        var error = Assert.Throws<ModelForgeException>(() => ShapeProfiles.WithProfiles([ResNetOnnx.Input],
            new Dictionary<string, DimRange> { ["batch"] = new(1, 8, 16) }, [ShapeProfile.Parse(text)]));
        Assert.Equal(DiagnosticCode.EngineProfileInvalid, error.Code);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void A_second_profile_for_one_input_is_refused_because_ort_only_ever_uses_the_first()
    {
        var error = Assert.Throws<ModelForgeException>(() => ShapeProfiles.WithProfiles([ResNetOnnx.Input], NoRanges,
            [ShapeProfile.Parse("x:1x3x64x64/1x3x64x64/1x3x64x64"), ShapeProfile.Parse("x:2x3x64x64/2x3x64x64/2x3x64x64")]));
        Assert.Contains("second profile", error.Message);
    }

    [Fact]
    public void Max_batch_below_1_is_MF6003()
    {
        var error = Assert.Throws<ModelForgeException>(() => ShapeProfiles.Resolve([ResNetOnnx.Input], NoRanges, 0));
        Assert.Equal(DiagnosticCode.EngineTargetInvalid, error.Code);
    }
}
