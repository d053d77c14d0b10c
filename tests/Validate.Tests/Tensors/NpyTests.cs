using System.Text;
using ModelForge.Core.Diagnostics;
using ModelForge.Core.Limits;
using ModelForge.Model;
using ModelForge.Model.Tensors;

namespace ModelForge.Validate.Tests.Tensors;

public class NpyTests
{
    public static TheoryData<DataType> AllTypes =>
    [
        DataType.Float32, DataType.Float64, DataType.Float16, DataType.Int64, DataType.Int32,
        DataType.Int16, DataType.Int8, DataType.UInt8, DataType.Bool,
    ];

    private static HostTensor Sample(DataType type, params long[] shape)
    {
        var count = shape.Aggregate(1L, (a, d) => a * d);
        var size = type.SizeInBytes();
        var data = new byte[count * size];
        for (var i = 0; i < data.Length; i++) data[i] = (byte)(i * 37 + 11);
        if (type == DataType.Bool) for (var i = 0; i < data.Length; i++) data[i] = (byte)(i % 3 == 0 ? 1 : 0);
        if (type == DataType.Float16) // keep halves finite and non-NaN so bytes round trip unambiguously anyway
            for (var i = 1; i < data.Length; i += 2) data[i] &= 0x3F;
        return new HostTensor(type, shape, data);
    }

    [Theory]
    [MemberData(nameof(AllTypes))]
    public void RoundTripsEveryDtype(DataType type)
    {
        foreach (var shape in new[] { new long[] { 2, 3 }, [], [0, 3], [5], [2, 1, 3, 2] })
        {
            var tensor = Sample(type, shape);
            var back = Npy.Read(Npy.ToBytes(tensor), "mem.npy");
            Assert.Equal(type, back.ElementType);
            Assert.Equal(shape, back.Shape);
            Assert.Equal(tensor.Data, back.Data);
        }
    }

    [Fact]
    public void WriteToStreamMatchesToBytes()
    {
        var tensor = Sample(DataType.Float32, 4, 4);
        using var stream = new MemoryStream();
        Npy.Write(stream, tensor);
        Assert.Equal(Npy.ToBytes(tensor), stream.ToArray());
    }

    [Fact]
    public void WriteToPathRoundTrips()
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"mf-npy-{Guid.NewGuid():N}", "t.npy");
        try
        {
            var tensor = Sample(DataType.Int64, 3, 2);
            Npy.Write(path, tensor);
            Assert.Equal(tensor.Data, Npy.Read(path).Data);
        }
        finally
        {
            Directory.Delete(System.IO.Path.GetDirectoryName(path)!, recursive: true);
        }
    }

    [Theory]
    [InlineData("float32", DataType.Float32)]
    [InlineData("float64", DataType.Float64)]
    [InlineData("float16", DataType.Float16)]
    [InlineData("int64", DataType.Int64)]
    [InlineData("int32", DataType.Int32)]
    [InlineData("int16", DataType.Int16)]
    [InlineData("int8", DataType.Int8)]
    [InlineData("uint8", DataType.UInt8)]
    public void ReadsNumpyFilesOfEveryDtype(string name, DataType type)
    {
        var tensor = Npy.Read(TestData.Path(name + ".npy"));
        Assert.Equal(type, tensor.ElementType);
        Assert.Equal([2L, 3L], tensor.Shape);
        Assert.Equal([0.0, 1, 2, 3, 4, 5], tensor.ToDoubles());
    }

    [Fact]
    public void ReadsNumpyBool()
    {
        var tensor = Npy.Read(TestData.Path("bool.npy"));
        Assert.Equal(DataType.Bool, tensor.ElementType);
        Assert.Equal([0L, 1, 0, 1, 0, 1], tensor.ToInt64s());
    }

    [Theory]
    [InlineData("float32")]
    [InlineData("float64")]
    [InlineData("float16")]
    [InlineData("int64")]
    [InlineData("int32")]
    [InlineData("int16")]
    [InlineData("int8")]
    [InlineData("uint8")]
    [InlineData("bool")]
    [InlineData("float32_mixed")]
    [InlineData("int64_negative")]
    [InlineData("scalar_float64")]
    [InlineData("empty_float32_0x3")]
    public void WritesTheSameBytesAsNumpy(string name)
    {
        var bytes = File.ReadAllBytes(TestData.Path(name + ".npy"));
        Assert.Equal(bytes, Npy.ToBytes(Npy.Read(bytes, name)));
    }

    [Fact]
    public void ReadsMixedValues()
    {
        Assert.Equal([-1.5f, 0f, 2.25f, 1e-8f, -3e10f], Npy.Read(TestData.Path("float32_mixed.npy")).ToDoubles().Select(v => (float)v));
        Assert.Equal([-(1L << 62), -1, 0, 1L << 62], Npy.Read(TestData.Path("int64_negative.npy")).ToInt64s());
    }

    [Fact]
    public void ReadsZeroDimensionalArray()
    {
        var tensor = Npy.Read(TestData.Path("scalar_float64.npy"));
        Assert.Equal(DataType.Float64, tensor.ElementType);
        Assert.Empty(tensor.Shape);
        Assert.Equal([3.5], tensor.ToDoubles());
    }

    [Fact]
    public void ReadsEmptyArray()
    {
        var tensor = Npy.Read(TestData.Path("empty_float32_0x3.npy"));
        Assert.Equal([0L, 3L], tensor.Shape);
        Assert.Empty(tensor.Data);
    }

    [Theory]
    [InlineData("bigendian_float32.npy", DataType.Float32)]
    [InlineData("bigendian_int64.npy", DataType.Int64)]
    public void ConvertsBigEndianToLittleEndian(string name, DataType type)
    {
        var tensor = Npy.Read(TestData.Path(name));
        Assert.Equal(type, tensor.ElementType);
        Assert.Equal([2L, 3L], tensor.Shape);
        Assert.Equal([0.0, 1, 2, 3, 4, 5], tensor.ToDoubles());
        // what we write back is the ordinary little-endian file
        Assert.Equal(File.ReadAllBytes(TestData.Path(type.Name() + ".npy")), Npy.ToBytes(tensor));
    }

    [Fact]
    public void TransposesFortranOrderIntoCOrder()
    {
        var tensor = Npy.Read(TestData.Path("fortran_int32_2x3x4.npy"));
        Assert.Equal([2L, 3L, 4L], tensor.Shape);
        var expected = new List<long>();
        for (var i = 0; i < 2; i++)
            for (var j = 0; j < 3; j++)
                for (var k = 0; k < 4; k++)
                    expected.Add(100 * i + 10 * j + k);
        Assert.Equal(expected, tensor.ToInt64s());
    }

    [Theory]
    [InlineData("version2_float32.npy")]
    [InlineData("version3_float32.npy")]
    public void ReadsHeaderVersions2And3(string name)
    {
        var tensor = Npy.Read(TestData.Path(name));
        Assert.Equal([2L, 3L], tensor.Shape);
        Assert.Equal([0.0, 1, 2, 3, 4, 5], tensor.ToDoubles());
    }

    [Fact]
    public void DataStartsOn64ByteBoundaryAndUsesVersion2ForHugeHeaders()
    {
        foreach (var rank in new[] { 0, 1, 3, 8 })
        {
            var bytes = Npy.ToBytes(Sample(DataType.Float32, Enumerable.Repeat(1L, rank).ToArray()));
            Assert.Equal(1, bytes[6]);
            Assert.Equal(0, (bytes.Length - 4) % 64);
        }
        // numpy would need version 2.0 once the header passes 65535 bytes: a shape with 30,000 dims of 1
        var manyDims = Sample(DataType.UInt8, Enumerable.Repeat(1L, 30_000).ToArray());
        var big = Npy.ToBytes(manyDims);
        Assert.Equal(2, big[6]);
        Assert.Equal(manyDims.Shape, Npy.Read(big, "big.npy").Shape);
    }

    [Fact]
    public void BFloat16CannotBeWritten()
    {
        var error = Assert.Throws<ModelForgeException>(() => Npy.ToBytes(new HostTensor(DataType.BFloat16, [1], new byte[2])));
        Assert.Equal(DiagnosticCode.UnsupportedDtype, error.Code);
        Assert.False(Npy.IsSupported(DataType.BFloat16));
    }

    [Fact]
    public void MissingFileIsFileNotFound()
    {
        var error = Assert.Throws<ModelForgeException>(() => Npy.Read("/nonexistent/dir/x.npy"));
        Assert.Equal(DiagnosticCode.FileNotFound, error.Code);
    }

    // ---- malformed input ----

    private static byte[] WithHeader(string dict, byte[]? data = null, byte major = 1)
    {
        var header = Encoding.Latin1.GetBytes(dict + "\n");
        using var stream = new MemoryStream();
        stream.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', major, 0]);
        if (major == 1) stream.Write(BitConverter.GetBytes((ushort)header.Length));
        else stream.Write(BitConverter.GetBytes((uint)header.Length));
        stream.Write(header);
        stream.Write(data ?? []);
        return stream.ToArray();
    }

    private static ModelForgeException AssertInvalid(byte[] bytes, string expectedFragment)
    {
        var error = Assert.Throws<ModelForgeException>(() => Npy.Read(bytes, "bad.npy"));
        Assert.Equal(DiagnosticCode.DataFileInvalid, error.Code);
        Assert.Contains("bad.npy", error.Message);
        Assert.Contains(expectedFragment, error.Message);
        return error;
    }

    [Fact]
    public void DeclaredShapeAboveTheMemoryCapIsMF1014BeforeAnythingIsAllocated()
    {
        // The header claims 1 Mi float32 elements (4 MiB); no data follows, so only the declared size can trip the cap.
        var bytes = WithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (1048576,), }");
        using var _ = MemoryLimit.Override(1 << 20);
        var error = Assert.Throws<ModelForgeException>(() => Npy.Read(bytes, "big.npy"));
        Assert.Equal(DiagnosticCode.MemoryLimitExceeded, error.Code);
        Assert.Contains("'big.npy', shape [1048576] of <f4, needs 4 MiB (4194304 bytes)", error.Message);
        Assert.Contains("MODELFORGE_MEMORY_LIMIT_MB", error.Diagnostics[0].Hint);
    }

    [Fact]
    public void FilesAboveTheMemoryCapAreMF1014BeforeTheyAreRead()
    {
        var path = Path.Combine(Path.GetTempPath(), $"mf-npy-cap-{Guid.NewGuid():N}.npy");
        Npy.Write(path, HostTensor.FromFloats(new float[1024], 1024));
        try
        {
            using (MemoryLimit.Override(4096 + 256))
                Assert.Equal(1024, Npy.Read(path).ElementCount);
            using (MemoryLimit.Override(2048))
            {
                var error = Assert.Throws<ModelForgeException>(() => Npy.Read(path));
                Assert.Equal(DiagnosticCode.MemoryLimitExceeded, error.Code);
                Assert.Contains($"data file '{path}'", error.Message);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void RejectsMalformedFilesWithDataFileInvalid()
    {
        AssertInvalid([], "truncated");
        AssertInvalid("PK\x03\x04not numpy"u8.ToArray(), "magic");
        AssertInvalid([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 4, 0, 0, 0], "version 4.0");
        AssertInvalid(WithHeader("['descr', '<f4']"), "not a Python dict");
        AssertInvalid(WithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), "), "not a Python dict");
        AssertInvalid(WithHeader("{'descr': '<f4', 'shape': (2,)}"), "exactly the keys");
        AssertInvalid(WithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}"), "exactly the keys");
        AssertInvalid(WithHeader("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}"), "fortran_order");
        AssertInvalid(WithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': [2]}"), "not a tuple");
        AssertInvalid(WithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}"), "non-negative");
        AssertInvalid(WithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}"), "out of range");
        AssertInvalid(WithHeader("{'descr': '<c8', 'fortran_order': False, 'shape': (2,)}"), "'<c8'");
        AssertInvalid(WithHeader("{'descr': '|O', 'fortran_order': False, 'shape': (2,)}"), "not supported");
        AssertInvalid(WithHeader("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}"), "structured");
        AssertInvalid(WithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", new byte[7]), "truncated");
        AssertInvalid(WithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", new byte[9]), "beyond");
        AssertInvalid(WithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296)}"), "64 bits");
        AssertInvalid(WithHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000)}"), "bytes");
        AssertInvalid(WithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': " + new string('(', 1000) + "}"), "nested too deeply");
        // a header length pointing past the end
        var truncatedHeader = WithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}")[..20];
        AssertInvalid(truncatedHeader, "truncated");
        AssertInvalid(WithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", new byte[8], major: 2)[..11], "truncated");
    }

    [Fact]
    public void AcceptsLiberalButValidHeaders()
    {
        // double quotes, no trailing comma, 'L' suffixes, '|' or '<' for one-byte types
        var tensor = Npy.Read(WithHeader("{\"descr\": \"<u1\", \"fortran_order\": False, \"shape\": (2L, 1)}", [7, 9]), "ok.npy");
        Assert.Equal(DataType.UInt8, tensor.ElementType);
        Assert.Equal([2L, 1L], tensor.Shape);
        Assert.Equal([7L, 9L], tensor.ToInt64s());
    }

    [Fact]
    public void EveryPrefixOfAValidFileIsRejectedCleanly()
    {
        foreach (var name in new[] { "float32.npy", "scalar_float64.npy", "version3_float32.npy", "fortran_int32_2x3x4.npy" })
        {
            var bytes = File.ReadAllBytes(TestData.Path(name));
            for (var length = 0; length < bytes.Length; length++)
            {
                var error = Assert.Throws<ModelForgeException>(() => Npy.Read(bytes.AsSpan(0, length), name));
                Assert.Equal(DiagnosticCode.DataFileInvalid, error.Code);
            }
            Npy.Read(bytes, name);
        }
    }

    private const string HeaderChars = "{}()[],:'\" 0123456789-LTrueFalse<>|fiub";

    [Fact]
    public void RandomCorruptionNeverThrowsAnythingButModelForgeException()
    {
        var random = new Random(1234);
        var originals = new[] { "float32.npy", "bool.npy", "bigendian_int64.npy", "fortran_int32_2x3x4.npy", "version2_float32.npy", "empty_float32_0x3.npy" }
            .Select(n => File.ReadAllBytes(TestData.Path(n))).ToArray();
        for (var iteration = 0; iteration < 20_000; iteration++)
        {
            var bytes = (byte[])originals[random.Next(originals.Length)].Clone();
            var flips = random.Next(1, 4);
            for (var f = 0; f < flips; f++)
            {
                // mostly corrupt the header, where the parsing happens
                var position = random.Next(random.Next(2) == 0 ? Math.Min(bytes.Length, 128) : bytes.Length);
                bytes[position] = random.Next(3) switch
                {
                    0 => (byte)random.Next(256),
                    1 => (byte)HeaderChars[random.Next(HeaderChars.Length)],
                    _ => (byte)(bytes[position] ^ (1 << random.Next(8))),
                };
            }
            if (random.Next(4) == 0) bytes = bytes[..random.Next(bytes.Length + 1)];
            try
            {
                var tensor = Npy.Read(bytes, "fuzz.npy");
                Assert.Equal(tensor.ElementCount * tensor.ElementType.SizeInBytes(), tensor.Data.LongLength);
            }
            catch (ModelForgeException e)
            {
                Assert.Equal(DiagnosticCode.DataFileInvalid, e.Code);
            }
        }
    }
}
