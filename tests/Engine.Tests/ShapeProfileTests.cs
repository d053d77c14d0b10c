using ModelForge.Core.Diagnostics;
using ModelForge.Model;

namespace ModelForge.Engine.Tests;

public sealed class ShapeProfileTests
{
    [Fact]
    public void A_profile_parses_into_min_opt_max_and_prints_back_the_same()
    {
        var profile = ShapeProfile.Parse("x:1x3x224x224/8x3x224x224/32x3x224x224");
        Assert.Equal("x", profile.Input);
        Assert.Equal([1L, 3, 224, 224], profile.Min);
        Assert.Equal([8L, 3, 224, 224], profile.Opt);
        Assert.Equal([32L, 3, 224, 224], profile.Max);
        Assert.Equal("x:1x3x224x224/8x3x224x224/32x3x224x224", profile.ToString());
        Assert.Equal("x:8x3x224x224", ShapeProfile.Format(profile.Input, profile.Opt));
    }

    [Fact]
    public void Input_names_with_dots_and_colons_keep_everything_before_the_last_colon()
    {
        Assert.Equal("encoder.ids:0", ShapeProfile.Parse("encoder.ids:0:1x1/1x8/1x16").Input);
    }

    [Theory]
    [InlineData("x")]                                  // no shapes
    [InlineData(":1/1/1")]                             // no name
    [InlineData("x:1x3/8x3")]                          // two shapes
    [InlineData("x:1x3/8x3/16x3/32x3")]                // four shapes
    [InlineData("x:1x3/8xthree/16x3")]                 // not a number
    [InlineData("x:0x3/8x3/16x3")]                     // zero dim
    [InlineData("x:1x3/8x3/16")]                       // ranks differ
    [InlineData("x:8x3/1x3/16x3")]                     // min > opt
    [InlineData("x:1x3/16x3/8x3")]                     // opt > max
    [InlineData("a,b:1/1/1")]                          // ',' would break ORT's list syntax
    public void Malformed_profiles_are_MF6002_with_a_hint(string text)
    {
        var error = Assert.Throws<ModelForgeException>(() => ShapeProfile.Parse(text));
        Assert.Equal(DiagnosticCode.EngineProfileInvalid, error.Code);
        Assert.Contains(text, error.Message);
        Assert.Contains("NAME:MIN/OPT/MAX", error.Diagnostics[0].Hint);
    }

    [Fact]
    public void The_default_profile_spans_batch_1_to_max_batch_tuned_for_max_batch_with_static_dims_fixed()
    {
        var profile = Assert.Single(ShapeProfiles.Resolve([InputSpec.Parse("x:float32[batch,3,64,64]")], [], 8));
        Assert.Equal("x:1x3x64x64/8x3x64x64/8x3x64x64", profile.ToString());
    }

    [Fact]
    public void Static_inputs_get_no_profile_and_given_profiles_win_over_defaults_in_input_order()
    {
        var inputs = new[] { InputSpec.Parse("image:float32[batch,3,32,32]"), InputSpec.Parse("scale:float32[1]"), InputSpec.Parse("mask:bool[batch,4]") };
        var profiles = ShapeProfiles.Resolve(inputs, [ShapeProfile.Parse("mask:2x4/4x4/16x4")], 4);
        Assert.Equal(["image:1x3x32x32/4x3x32x32/4x3x32x32", "mask:2x4/4x4/16x4"], profiles.Select(p => p.ToString()));
    }

    [Fact]
    public void The_batch_dim_is_dim_0_of_the_first_input_and_spans_its_range_wherever_its_symbol_is()
    {
        // Before BatchDim, each input's own symbolic dim 0 got the batch range (n in y here), and the batch symbol
        // anywhere but dim 0 (m's dim 1) needed a --profile.
        var inputs = new[] { InputSpec.Parse("x:float32[batch,3]"), InputSpec.Parse("m:float32[3,batch]"), InputSpec.Parse("y:float32[n,3]") };
        var error = Assert.Throws<ModelForgeException>(() => ShapeProfiles.Resolve(inputs, [], 8));
        Assert.Equal(DiagnosticCode.EngineProfileInvalid, error.Code);
        Assert.Contains("'n'", error.Message);
        Assert.Contains("--profile y:1x3/128x3/512x3", error.Diagnostics[0].Hint);

        var profiles = ShapeProfiles.Resolve(inputs, [ShapeProfile.Parse("y:1x3/4x3/8x3")], 8);
        Assert.Equal(["x:1x3/8x3/8x3", "m:3x1/3x8/3x8", "y:1x3/4x3/8x3"], profiles.Select(p => p.ToString()));
    }

    [Fact]
    public void A_symbolic_dim_other_than_the_batch_needs_a_profile_and_the_hint_shows_one()
    {
        var error = Assert.Throws<ModelForgeException>(() => ShapeProfiles.Resolve([InputSpec.Parse("ids:int64[batch,seq]")], [], 8));
        Assert.Equal(DiagnosticCode.EngineProfileInvalid, error.Code);
        Assert.Contains("'seq'", error.Message);
        Assert.Contains("--profile ids:1x1/8x128/8x512", error.Diagnostics[0].Hint);
        Assert.Single(ShapeProfiles.Resolve([InputSpec.Parse("ids:int64[batch,seq]")], [ShapeProfile.Parse("ids:1x1/8x128/8x512")], 8));
    }

    [Theory]
    [InlineData("y:1x3x64x64/2x3x64x64/4x3x64x64", "not declared")]
    [InlineData("x:1x3x64/2x3x64/4x3x64", "rank 3")]
    [InlineData("x:1x3x32x64/2x3x64x64/4x3x64x64", "static (64)")]
    public void Profiles_that_do_not_fit_the_declared_input_are_MF6002(string text, string expected)
    {
        var error = Assert.Throws<ModelForgeException>(() => ShapeProfiles.Resolve([ResNetOnnx.Input], [ShapeProfile.Parse(text)], 8));
        Assert.Equal(DiagnosticCode.EngineProfileInvalid, error.Code);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void A_second_profile_for_one_input_is_refused_because_ort_only_ever_uses_the_first()
    {
        var error = Assert.Throws<ModelForgeException>(() => ShapeProfiles.Resolve([ResNetOnnx.Input],
            [ShapeProfile.Parse("x:1x3x64x64/1x3x64x64/1x3x64x64"), ShapeProfile.Parse("x:2x3x64x64/2x3x64x64/2x3x64x64")], 8));
        Assert.Contains("second profile", error.Message);
    }

    [Fact]
    public void Max_batch_below_1_is_MF6003()
    {
        var error = Assert.Throws<ModelForgeException>(() => ShapeProfiles.Resolve([ResNetOnnx.Input], [], 0));
        Assert.Equal(DiagnosticCode.EngineTargetInvalid, error.Code);
    }
}
