using System.IO.Compression;
using ModelForge.Core.Diagnostics;
using ModelForge.Core.Limits;
using ModelForge.Model;
using ModelForge.Model.Tensors;

namespace ModelForge.Validate.Tests.Tensors;

public sealed class NpzTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"mf-npz-{Guid.NewGuid():N}");

    public NpzTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData("savez.npz")]
    [InlineData("savez_compressed.npz")]
    public void ReadsNumpyArchives(string name)
    {
        var arrays = Npz.Read(TestData.Path(name));
        Assert.Equal(["ids", "mask", "x"], arrays.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(DataType.Float32, arrays["x"].ElementType);
        Assert.Equal([3L, 4L], arrays["x"].Shape);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (double)i), arrays["x"].ToDoubles());
        Assert.Equal(DataType.Int64, arrays["ids"].ElementType);
        Assert.Equal([0L, 1, 2, 3, 4], arrays["ids"].ToInt64s());
        Assert.Equal(DataType.Bool, arrays["mask"].ElementType);
        Assert.Equal([1L, 0L], arrays["mask"].ToInt64s());
    }

    private static Dictionary<string, HostTensor> AllDtypes()
    {
        var result = new Dictionary<string, HostTensor>();
        foreach (var type in new[] { DataType.Float32, DataType.Float64, DataType.Float16, DataType.Int64, DataType.Int32, DataType.Int16, DataType.Int8, DataType.UInt8, DataType.Bool })
        {
            var data = Enumerable.Range(0, 6 * type.SizeInBytes()).Select(i => (byte)(type == DataType.Bool ? i % 2 : i * 7 % 60)).ToArray();
            result[type.Name() + "_in.1"] = new HostTensor(type, [2, 3], data);
        }
        result["scalar"] = HostTensor.FromFloats([2.5f]) with { Shape = [] };
        result["empty"] = new HostTensor(DataType.Int64, [0, 4], []);
        return result;
    }

    [Fact]
    public void RoundTripsEveryDtype()
    {
        var path = Path.Combine(_folder, "all.npz");
        var arrays = AllDtypes();
        Npz.Write(path, arrays);
        var back = Npz.Read(path);
        Assert.Equal(arrays.Keys.Order(StringComparer.Ordinal), back.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, tensor) in arrays)
        {
            Assert.Equal(tensor.ElementType, back[name].ElementType);
            Assert.Equal(tensor.Shape, back[name].Shape);
            Assert.Equal(tensor.Data, back[name].Data);
        }
    }

    [Fact]
    public void WritesDeterministicUncompressedSortedEntries()
    {
        var arrays = AllDtypes();
        var reversed = arrays.Reverse().ToDictionary();
        var a = Path.Combine(_folder, "a.npz");
        var b = Path.Combine(_folder, "b.npz");
        Npz.Write(a, arrays);
        Thread.Sleep(1100); // a timestamp taken from the clock would differ now
        Npz.Write(b, reversed);
        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
        Assert.Equal(File.ReadAllBytes(a), Npz.ToBytes(arrays));

        using var archive = ZipFile.OpenRead(a);
        Assert.Equal(arrays.Keys.Order(StringComparer.Ordinal).Select(n => n + ".npy"), archive.Entries.Select(e => e.FullName));
        Assert.All(archive.Entries, e => Assert.Equal(e.Length, e.CompressedLength));
        Assert.All(archive.Entries, e => Assert.Equal(1980, e.LastWriteTime.Year));
        Assert.Empty(Directory.GetFiles(_folder, ".*tmp*"));
    }

    [Fact]
    public void RejectsNamesThatAreNotArrayNames()
    {
        Assert.Throws<ArgumentException>(() => Npz.Write(Path.Combine(_folder, "x.npz"), new Dictionary<string, HostTensor> { ["a/b"] = HostTensor.FromFloats([1f], 1) }));
        Assert.Throws<ArgumentException>(() => Npz.Write(Path.Combine(_folder, "x.npz"), new Dictionary<string, HostTensor> { [""] = HostTensor.FromFloats([1f], 1) }));
    }

    private string Zip(params (string Name, byte[] Bytes, CompressionLevel Level)[] entries)
    {
        var path = Path.Combine(_folder, $"{Guid.NewGuid():N}.npz");
        using var archive = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var (name, bytes, level) in entries)
        {
            using var stream = archive.CreateEntry(name, level).Open();
            stream.Write(bytes);
        }
        return path;
    }

    private static void AssertInvalid(string path, string fragment)
    {
        var error = Assert.Throws<ModelForgeException>(() => Npz.Read(path));
        Assert.Equal(DiagnosticCode.DataFileInvalid, error.Code);
        Assert.Contains(Path.GetFileName(path), error.Message);
        Assert.Contains(fragment, error.Message);
    }

    [Fact]
    public void RejectsUnsafeOrForeignEntries()
    {
        var npy = Npy.ToBytes(HostTensor.FromFloats([1f, 2f], 2));
        AssertInvalid(Zip(("../evil.npy", npy, CompressionLevel.Optimal)), "paths");
        AssertInvalid(Zip(("dir/x.npy", npy, CompressionLevel.Optimal)), "paths");
        AssertInvalid(Zip(("C:\\x.npy", npy, CompressionLevel.Optimal)), "paths");
        AssertInvalid(Zip((".npy", npy, CompressionLevel.Optimal)), "paths");
        AssertInvalid(Zip(("readme.txt", "hello"u8.ToArray(), CompressionLevel.Optimal)), "not an .npy array");
        AssertInvalid(Zip(("x.npy", npy, CompressionLevel.Optimal), ("x.npy", npy, CompressionLevel.NoCompression)), "twice");
    }

    [Fact]
    public void ArraysAboveTheMemoryCapTogetherAreMF1014()
    {
        // two 800-byte arrays: each fits a 1000-byte cap, both together do not
        var npy = Npy.ToBytes(HostTensor.FromFloats(new float[200], 200));
        var path = Zip(("a.npy", npy, CompressionLevel.Optimal), ("b.npy", npy, CompressionLevel.Optimal));
        using (MemoryLimit.Override(1600))
            Assert.Equal(2, Npz.Read(path).Count);
        using (MemoryLimit.Override(1000))
        {
            var error = Assert.Throws<ModelForgeException>(() => Npz.Read(path));
            Assert.Equal(DiagnosticCode.MemoryLimitExceeded, error.Code);
            Assert.Contains("read so far needs 1600 bytes", error.Message);
        }
        using (MemoryLimit.Override(700))
            Assert.Contains("'a.npy' in", Assert.Throws<ModelForgeException>(() => Npz.Read(path)).Message);
    }

    [Fact]
    public void RefusesAZipBombBeyondTheHeaderSize()
    {
        // a valid 2-element header followed by 50 MB of zeros: deflates to ~50 KB
        var npy = Npy.ToBytes(HostTensor.FromFloats([1f, 2f], 2));
        var bomb = new byte[npy.Length + 50_000_000];
        npy.CopyTo(bomb, 0);
        var path = Zip(("x.npy", bomb, CompressionLevel.SmallestSize));
        Assert.True(new FileInfo(path).Length < 1_000_000);
        AssertInvalid(path, "longer than");
    }

    [Fact]
    public void ReportsTruncatedAndCorruptEntries()
    {
        var npy = Npy.ToBytes(HostTensor.FromFloats([1f, 2f, 3f], 3));
        AssertInvalid(Zip(("x.npy", npy[..^2], CompressionLevel.Optimal)), "truncated");
        AssertInvalid(Zip(("x.npy", npy[..5], CompressionLevel.Optimal)), "truncated");
        AssertInvalid(Zip(("x.npy", "not numpy at all"u8.ToArray(), CompressionLevel.Optimal)), "magic");
        var notZip = Path.Combine(_folder, "plain.npz");
        File.WriteAllBytes(notZip, npy);
        AssertInvalid(notZip, "not a valid .npz");
        Assert.Equal(DiagnosticCode.FileNotFound, Assert.Throws<ModelForgeException>(() => Npz.Read(Path.Combine(_folder, "missing.npz"))).Code);
    }

    [Fact]
    public void EveryPrefixAndRandomCorruptionIsRejectedCleanly()
    {
        foreach (var name in new[] { "savez.npz", "savez_compressed.npz" })
        {
            var bytes = File.ReadAllBytes(TestData.Path(name));
            for (var length = 0; length < bytes.Length; length += 7)
                AssertOnlyModelForgeExceptions(bytes[..length], mustFail: true);
            var random = new Random(99);
            for (var iteration = 0; iteration < 3000; iteration++)
            {
                var corrupt = (byte[])bytes.Clone();
                for (var f = random.Next(1, 4); f > 0; f--) corrupt[random.Next(corrupt.Length)] ^= (byte)(1 << random.Next(8));
                AssertOnlyModelForgeExceptions(corrupt, mustFail: false);
            }
        }
    }

    private static void AssertOnlyModelForgeExceptions(byte[] bytes, bool mustFail)
    {
        try
        {
            using var stream = new MemoryStream(bytes);
            Npz.Read(stream, "fuzz.npz");
            Assert.False(mustFail, $"a {bytes.Length}-byte prefix was accepted");
        }
        catch (ModelForgeException e)
        {
            Assert.Equal(DiagnosticCode.DataFileInvalid, e.Code);
        }
    }
}
