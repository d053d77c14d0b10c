using System.Runtime.InteropServices;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Model.Tests;

public sealed class InputValuesTests
{
    [Fact]
    public void SplitMix64MatchesTheReferenceSequence()
    {
        // Reference outputs of SplitMix64 seeded with 1234567 (from the published C implementation).
        var random = new SplitMix64(1234567);
        Assert.Equal(6457827717110365317UL, random.Next());
        Assert.Equal(3203168211198807973UL, random.Next());
        Assert.Equal(9817491932198370423UL, random.Next());
    }

    [Fact]
    public void Values_depend_on_the_seed_and_the_index_only()
    {
        byte[] Fill(string input, int seed, int index, int bytes)
        {
            var data = new byte[bytes];
            InputValues.Fill(data, InputSpec.Parse(input), seed, index);
            return data;
        }

        Assert.Equal(Fill("x:float32[batch,16]", 3, 1, 64), Fill("y:float32[4,4]", 3, 1, 64));
        Assert.NotEqual(Fill("x:float32[16]", 3, 1, 64), Fill("x:float32[16]", 3, 0, 64));
        Assert.NotEqual(Fill("x:float32[16]", 3, 1, 64), Fill("x:float32[16]", 4, 1, 64));
        // A longer tensor starts with the shorter one's values: elements are drawn in order from one stream.
        Assert.Equal(Fill("x:float32[16]", 3, 1, 64), Fill("x:float32[32]", 3, 1, 128).AsSpan(0, 64).ToArray());
    }

    [Fact]
    public void Defaults_are_floats_in_minus_one_to_one_integers_in_zero_to_nine_and_bools()
    {
        var floats = new byte[4 * 1000];
        InputValues.Fill(floats, InputSpec.Parse("x:float32[1000]"), 0, 0);
        Assert.All(MemoryMarshal.Cast<byte, float>(floats).ToArray(), v => Assert.InRange(v, -1f, 0.9999999f));

        var ints = new byte[8 * 1000];
        InputValues.Fill(ints, InputSpec.Parse("i:int64[1000]"), 0, 0);
        Assert.Equal(Enumerable.Range(0, 10).Select(v => (long)v), MemoryMarshal.Cast<byte, long>(ints).ToArray().Distinct().Order());

        var bools = new byte[1000];
        InputValues.Fill(bools, InputSpec.Parse("m:bool[1000]"), 0, 0);
        Assert.Equal([(byte)0, (byte)1], bools.Distinct().Order());
    }

    [Fact]
    public void A_range_the_type_cannot_hold_is_MF_InputSpecInvalid_and_strings_cannot_be_generated()
    {
        var error = Assert.Throws<ModelForgeException>(() =>
            InputValues.Fill(new byte[4], InputSpec.Parse("b:uint8[4]"), 0, 0, new InputRange("b", -1, 3)));
        Assert.Equal(DiagnosticCode.InputSpecInvalid, error.Code);

        Assert.False(InputValues.CanGenerate(DataType.String));
        Assert.Throws<ArgumentException>(() => InputValues.Fill(new byte[4], new InputSpec("s", DataType.String, [Dim.Of(1)]), 0, 0));
    }
}
