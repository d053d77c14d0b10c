using ModelForge.Ops.Tests.Infrastructure;

namespace ModelForge.Ops.Tests;

/// <summary>Self-tests of the .npy reader/writer and the closeness check.</summary>
public class InfrastructureTests
{
    public static IEnumerable<object[]> Arrays() =>
    [
        [NdArray.FromFloat32([1.5f, -2f, float.NaN, 0f, 3.25f, float.PositiveInfinity], 2, 3)],
        [NdArray.FromFloat64([1e-300, -2.5], 2)],
        [NdArray.FromFloat16([(Half)1.5, (Half)(-0.25)], 1, 2)],
        [NdArray.FromInt64([long.MaxValue, -1, 7], 3)],
        [NdArray.FromInt32([1, -2], 2, 1)],
        [NdArray.FromInt16([1, -2], 2)],
        [NdArray.FromInt8([1, -2], 2)],
        [NdArray.FromUInt8([1, 255], 2)],
        [NdArray.FromBool([true, false, true], 3)],
        [NdArray.FromFloat32([42f])], // scalar, shape ()
        [NdArray.FromFloat32([], 0, 4)],
    ];

    [Theory]
    [MemberData(nameof(Arrays))]
    public void NpyRoundTrips(NdArray array)
    {
        byte[] bytes = Npy.ToBytes(array);
        Assert.Equal(0, (bytes.Length - array.Data.Length) % 64); // NumPy-style 64-byte aligned header
        var back = Npy.Read(bytes);
        Assert.Equal(array.DType, back.DType);
        Assert.Equal(array.Shape, back.Shape);
        Assert.Equal(array.Data, back.Data);
    }

    [Fact]
    public void NpyRejectsFortranOrder()
    {
        byte[] bytes = Npy.ToBytes(NdArray.FromFloat32([1, 2, 3, 4], 2, 2));
        string text = System.Text.Encoding.Latin1.GetString(bytes).Replace("'fortran_order': False", "'fortran_order': True ");
        var e = Assert.Throws<NotSupportedException>(() => Npy.Read(System.Text.Encoding.Latin1.GetBytes(text)));
        Assert.Contains("fortran_order", e.Message);
    }

    [Fact]
    public void NpyReadsFilesWrittenByNumPy()
    {
        // Written by TestData/make_tiny_models.py: np.save(np.arange(6, dtype='<i8').reshape(2, 3)).
        var a = Npy.Read(Path.Combine(Path.Combine(RepoPaths.Root, "tests", "Ops.Tests", "Infrastructure", "TestData"), "arange_2x3_i8.npy"));
        Assert.Equal("int64", a.DType);
        Assert.Equal([2L, 3L], a.Shape);
        Assert.Equal([0L, 1, 2, 3, 4, 5], a.ToInt64());
    }

    [Fact]
    public void ClosenessReportsWorstElement()
    {
        var expected = NdArray.FromFloat32([1f, 2f, 3f, float.NaN], 2, 2);
        Assert.Null(Closeness.Compare(expected, NdArray.FromFloat32([1f, 2.00001f, 3f, float.NaN], 2, 2), 1e-4, 0, "ok"));
        string? msg = Closeness.Compare(expected, NdArray.FromFloat32([1f, 2.5f, 3.1f, float.NaN], 2, 2), 1e-3, 1e-3, "out");
        Assert.NotNull(msg);
        Assert.Contains("out:", msg);
        Assert.Contains("2 of 4", msg);
        Assert.Contains("[0, 1]", msg);
        Assert.Contains("expected 2, actual 2.5", msg);
        Assert.Contains("max abs error 0.5", msg);
        Assert.NotNull(Closeness.Compare(expected, NdArray.FromFloat32([1f, 2f, 3f, 0f], 2, 2), 1, 1, "nan"));
        Assert.NotNull(Closeness.Compare(expected, NdArray.FromFloat32([1f, 2f, 3f, float.NaN], 4), 1, 1, "shape"));
        Assert.NotNull(Closeness.Compare(expected, NdArray.FromInt64([1, 2, 3, 4], 2, 2), 1, 1, "dtype"));
    }
}
