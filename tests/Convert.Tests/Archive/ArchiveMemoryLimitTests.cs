using System.IO.Compression;
using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;
using ModelForge.Core.Limits;
using ModelForge.TorchScript.Archive;
using static ModelForge.Convert.Tests.Archive.ArchiveFixtures;

namespace ModelForge.Convert.Tests.Archive;

/// <summary>
/// Declared sizes in an archive against the memory cap (MF1014), with the cap lowered for each test's own flow.
/// fixtures/archives/v1x_small.pt has nine stored storages, the largest (data/7) 2880 bytes, 3420 bytes in all.
/// </summary>
public sealed class ArchiveMemoryLimitTests
{
    private const long LargestStorage = 2880, AllStorages = 3420;

    [Fact]
    public void A_storage_declared_above_the_cap_is_MF1014_naming_it()
    {
        using var archive = TorchScriptArchive.Open(Fixture("v1x_small.pt"));
        using var _ = MemoryLimit.Override(LargestStorage - 1);
        var e = Throws(DiagnosticCode.MemoryLimitExceeded, () => archive.LoadPickle("data.pkl"));
        Assert.Contains("tensor storage '7'", e.Message);
        Assert.Contains($"needs {LargestStorage} bytes", e.Message);
        Assert.EndsWith("v1x_small.pt!/data.pkl", e.Diagnostics[0].Location?.File);
    }

    [Fact]
    public void A_storage_declared_far_beyond_its_entry_is_MF1014_before_the_entry_is_read()
    {
        // data.pkl claims 2^40 float elements for storage '0', whose entry holds 8 bytes; nothing of that size is allocated.
        using var dir = new TempDir();
        var file = dir.File("huge.pt");
        WriteZip(file, [.. MinimalArchive().Where(e => e.Name != "m/data.pkl"), ("m/data.pkl", StoragePickle("0", 1L << 40))]);
        using var archive = TorchScriptArchive.Open(file);
        using var _ = MemoryLimit.Override(1L << 30);
        var e = Throws(DiagnosticCode.MemoryLimitExceeded, () => archive.LoadPickle("data.pkl"));
        Assert.Contains("tensor storage '0' (1099511627776 float32 elements) needs 4096 GiB", e.Message);
    }

    [Fact]
    public void Mapped_storages_do_not_count_towards_the_total()
    {
        using var archive = TorchScriptArchive.Open(Fixture("v1x_small.pt"));
        using var _ = MemoryLimit.Override(LargestStorage);
        Assert.Equal(9, TorchScriptArchiveTests.Tensors(archive.LoadPickle("data.pkl")).Select(t => t.Tensor.Storage).Distinct().Count());
    }

    [Fact]
    public void Compressed_storages_above_the_cap_together_are_MF1014()
    {
        using var dir = new TempDir();
        var file = dir.File("deflated.pt");
        WriteZip(file, Entries(Fixture("v1x_small.pt")), compress: true);
        using (MemoryLimit.Override(AllStorages))
        using (var archive = TorchScriptArchive.Open(file))
            Assert.NotEmpty(TorchScriptArchiveTests.Tensors(archive.LoadPickle("data.pkl")));
        using (MemoryLimit.Override(AllStorages - 1))
        using (var archive = TorchScriptArchive.Open(file))
        {
            var e = Throws(DiagnosticCode.MemoryLimitExceeded, () => archive.LoadPickle("data.pkl"));
            Assert.Contains("compressed tensor storages", e.Message);
            Assert.Contains($"needs {AllStorages} bytes", e.Message);
        }
    }

    [Fact]
    public void A_compressed_entry_above_the_cap_is_MF1014_before_it_is_inflated()
    {
        using var dir = new TempDir();
        var file = dir.File("big-code.pt");
        var noise = new byte[64 << 10];
        new Random(7).NextBytes(noise); // incompressible, so the zip-bomb ratio guard (MF1005) stays quiet
        WriteZip(file, [.. MinimalArchive(), ("m/code/__torch__/big.py", noise)], compress: true);
        using var archive = TorchScriptArchive.Open(file);
        using var _ = MemoryLimit.Override(32 << 10);
        var e = Throws(DiagnosticCode.MemoryLimitExceeded, () => archive.Read("code/__torch__/big.py"));
        Assert.Contains("big.py", e.Message);
    }

    [Fact]
    public void A_gathered_copy_above_the_cap_is_MF1014()
    {
        var storage = new TensorStorage("0", DataType.Float32, 6, new byte[24]);
        var transposed = new TensorData(storage, 0, [3, 2], [1, 3]);
        using var _ = MemoryLimit.Override(20);
        Throws(DiagnosticCode.MemoryLimitExceeded, () => transposed.ContiguousBytes());
        Throws(DiagnosticCode.MemoryLimitExceeded, () => transposed.ToFloatArray());
    }

    private static List<(string Name, byte[] Data)> Entries(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        var result = new List<(string, byte[])>();
        foreach (var entry in zip.Entries)
        {
            using var s = entry.Open();
            using var copy = new MemoryStream();
            s.CopyTo(copy);
            result.Add((entry.FullName, copy.ToArray()));
        }
        return result;
    }

    /// <summary>A protocol-2 pickle of one float tensor [count] on storage <paramref name="key"/>, as torch.jit.save writes it.</summary>
    private static byte[] StoragePickle(string key, long count)
    {
        var s = new MemoryStream();
        void Op(params byte[] b) => s.Write(b);
        void Global(string module, string name) { Op((byte)'c'); s.Write(System.Text.Encoding.ASCII.GetBytes($"{module}\n{name}\n")); }
        void Str(string text) { var b = System.Text.Encoding.UTF8.GetBytes(text); Op(0x58); s.Write(BitConverter.GetBytes(b.Length)); s.Write(b); }
        void Long(long v) { Op(0x8a, 8); s.Write(BitConverter.GetBytes(v)); }
        Op(0x80, 0x02);
        Global("torch._utils", "_rebuild_tensor_v2");
        Op((byte)'(');                                   // MARK: args
        Op((byte)'(');                                   // MARK: persistent id
        Str("storage"); Global("torch", "FloatStorage"); Str(key); Str("cpu"); Long(count);
        Op((byte)'t', (byte)'Q');                        // TUPLE, BINPERSID
        Long(0);                                         // offset
        Long(count); Op(0x85);                           // size (TUPLE1)
        Long(1); Op(0x85);                               // stride
        Op(0x89);                                        // requires_grad False
        Op((byte)'}');                                   // backward hooks: empty dict
        Op((byte)'t', (byte)'R', (byte)'.');             // TUPLE, REDUCE, STOP
        return s.ToArray();
    }
}
