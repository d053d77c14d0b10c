using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;
using ModelForge.TorchScript.Archive;
using ModelForge.TorchScript.Pickle;
using static ModelForge.Convert.Tests.Archive.ArchiveFixtures;

namespace ModelForge.Convert.Tests.Archive;

public sealed class TorchScriptArchiveTests
{
    /// <summary>Every tensor reachable from a pickled value, with a dotted path.</summary>
    internal static List<(string Path, TensorData Tensor)> Tensors(object? value, string path = "")
    {
        var found = new List<(string, TensorData)>();
        Walk(value, path, found, 0);
        return found;

        static void Walk(object? v, string p, List<(string, TensorData)> acc, int depth)
        {
            if (depth > 100) return;
            switch (v)
            {
                case TensorData t: acc.Add((p, t)); break;
                case PickleObject o: Walk(o.State, p, acc, depth + 1); break;
                case PickleDict d:
                    foreach (var (k, x) in d.Entries) Walk(x, p.Length == 0 ? $"{k}" : $"{p}.{k}", acc, depth + 1);
                    break;
                case PickleTuple tu:
                    for (var i = 0; i < tu.Items.Count; i++) Walk(tu.Items[i], $"{p}[{i}]", acc, depth + 1);
                    break;
                case List<object?> l:
                    for (var i = 0; i < l.Count; i++) Walk(l[i], $"{p}[{i}]", acc, depth + 1);
                    break;
            }
        }
    }

    [Fact]
    public void Opens_1x_archive_and_loads_the_module_tree()
    {
        using var archive = TorchScriptArchive.Open(Fixture("v1x_small.pt"));
        Assert.Equal("v1x_small", archive.RootFolder);
        Assert.True(archive.FormatVersion >= 1, $"version {archive.FormatVersion}");
        Assert.True(archive.Contains("data.pkl"));
        Assert.Equal(archive.EntryNames.OrderBy(n => n, StringComparer.Ordinal), archive.EntryNames);
        Assert.DoesNotContain(archive.EntryNames, n => n.StartsWith("v1x_small/", StringComparison.Ordinal));
        var code = archive.CodeFiles.ToList();
        Assert.NotEmpty(code);
        Assert.All(code, f => Assert.Matches("^code/__torch__.*\\.py$", f));
        Assert.Equal(code.OrderBy(n => n, StringComparer.Ordinal), code);
        Assert.Contains("class ", Encoding.UTF8.GetString(archive.Read(code[0]).Span));

        var root = Assert.IsType<PickleObject>(archive.LoadPickle("data.pkl"));
        Assert.StartsWith("__torch__.", root.ClassName);
        var state = Assert.IsType<PickleDict>(root.State);
        Assert.True(state.TryGetValue("training", out var training));
        Assert.IsType<bool>(training);
        Assert.Contains(state.Entries, e => e.Value is PickleObject child && child.ClassName.StartsWith("__torch__.", StringComparison.Ordinal));

        var tensors = Tensors(root);
        Assert.NotEmpty(tensors);
        foreach (var (path, tensor) in tensors)
        {
            Assert.True(tensor.ElementCount == tensor.Shape.Aggregate(1L, (a, b) => a * b), path);
            Assert.Equal(tensor.ElementCount, tensor.ToFloatArray().Length);
        }
        // Loading again reuses the cached storages.
        var again = Tensors(archive.LoadPickle("data.pkl"));
        Assert.All(tensors.Zip(again), p => Assert.Same(p.First.Tensor.Storage, p.Second.Tensor.Storage));
        if (archive.Contains("constants.pkl"))
            Assert.IsType<PickleTuple>(archive.LoadPickle("constants.pkl"));
    }

    [Fact]
    public void Opens_2x_layout_archive()
    {
        using var archive = TorchScriptArchive.Open(Fixture("v2x_layout.pt"));
        Assert.Equal("archive", archive.RootFolder);
        Assert.True(archive.FormatVersion >= 1);
        Assert.True(archive.Contains("byteorder"));
        Assert.Contains(archive.EntryNames, n => n.StartsWith(".data/", StringComparison.Ordinal));
        Assert.NotEmpty(archive.CodeFiles);
        var root = Assert.IsType<PickleObject>(archive.LoadPickle("data.pkl"));
        Assert.NotEmpty(Tensors(root));
    }

    [Fact]
    public void Every_dtype_reads_the_values_python_wrote()
    {
        // dtypes.json: {"file": "dtypes.pt", "buffers": [{"name", "dtype", "shape", "strides", "values"}]}
        using var json = JsonDocument.Parse(File.ReadAllText(Fixture("dtypes.json")));
        using var archive = TorchScriptArchive.Open(Fixture("dtypes.pt"));
        var tensors = Tensors(archive.LoadPickle("data.pkl")).ToDictionary(t => t.Path, t => t.Tensor);
        var seen = new HashSet<DataType>();
        foreach (var buffer in json.RootElement.GetProperty("buffers").EnumerateArray())
        {
            var name = buffer.GetProperty("name").GetString()!;
            var tensor = tensors[name];
            Assert.Equal(DataTypes.FromName(buffer.GetProperty("dtype").GetString()!), tensor.DataType);
            Assert.Equal(buffer.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()), tensor.Shape);
            Assert.Equal(buffer.GetProperty("strides").EnumerateArray().Select(e => e.GetInt64()), tensor.Strides);
            var values = buffer.GetProperty("values").EnumerateArray().ToList();
            if (tensor.DataType.IsFloatingPoint())
            {
                // Python wrote the exact values as float64; float32 conversion is exact for fp16/bf16/fp32.
                Assert.Equal(values.Select(v => (float)v.GetDouble()), tensor.ToFloatArray());
            }
            else
            {
                var expected = values.Select(v => v.ValueKind switch
                {
                    JsonValueKind.True => 1L,
                    JsonValueKind.False => 0L,
                    _ => v.GetInt64(),
                }).ToArray();
                Assert.Equal(expected, tensor.ToInt64Array());
                Assert.Equal(expected.Select(v => (float)v), tensor.ToFloatArray());
            }
            Assert.True(seen.Add(tensor.DataType), name);
        }
        Assert.Equal(10, seen.Count);
    }

    [Fact]
    public void Shared_storage_is_one_object_with_different_offsets()
    {
        using var archive = TorchScriptArchive.Open(Fixture("shared_storage.pt"));
        var tensors = Tensors(archive.LoadPickle("data.pkl")).Select(t => t.Tensor).ToList();
        var pair = tensors.SelectMany(a => tensors.Where(b => !ReferenceEquals(a, b) && ReferenceEquals(a.Storage, b.Storage)
                && a.StorageOffset != b.StorageOffset).Select(b => (a, b))).FirstOrDefault();
        Assert.NotNull(pair.a);
        foreach (var tensor in new[] { pair.a, pair.b })
        {
            var all = new TensorData(tensor.Storage, 0, [tensor.Storage.ElementCount], [1]).ToFloatArray();
            Assert.Equal(Gather(all, tensor), tensor.ToFloatArray());
        }
        // Views of one storage read from the mapped file, not from copies.
        Assert.True(MemoryMarshal.TryGetMemoryManager<byte, MappedMemoryManager>(pair.a.Storage.Bytes, out _));
    }

    [Fact]
    public void Noncontiguous_tensor_gathers_row_major_values()
    {
        using var archive = TorchScriptArchive.Open(Fixture("noncontiguous.pt"));
        var tensors = Tensors(archive.LoadPickle("data.pkl")).Select(t => t.Tensor).ToList();
        var tensor = Assert.Single(tensors, t => !t.IsContiguous);
        var all = new TensorData(tensor.Storage, 0, [tensor.Storage.ElementCount], [1]).ToFloatArray();
        var expected = Gather(all, tensor);
        Assert.Equal(expected, tensor.ToFloatArray());
        Assert.Equal(expected.Length * tensor.DataType.SizeInBytes(), tensor.ContiguousBytes().Length);
        Assert.False(MemoryMarshal.TryGetMemoryManager<byte, MappedMemoryManager>(tensor.ContiguousBytes(), out _));
    }

    /// <summary>Row-major values of a strided view, computed independently of TensorData.</summary>
    private static float[] Gather(float[] storage, TensorData t)
    {
        var result = new List<float>();
        var index = new long[t.Shape.Length];
        for (long n = 0; n < t.ElementCount; n++)
        {
            long offset = t.StorageOffset;
            for (var d = 0; d < index.Length; d++) offset += index[d] * t.Strides[d];
            result.Add(storage[offset]);
            for (var d = index.Length - 1; d >= 0 && ++index[d] == t.Shape[d]; d--) index[d] = 0;
        }
        return [.. result];
    }

    [Fact]
    public void Transposed_view_is_not_contiguous_and_copies_the_transpose()
    {
        // storage 0..5 as a 2x3 matrix; the view is its 3x2 transpose (strides 1, 3).
        var bytes = new byte[24];
        for (var i = 0; i < 6; i++) BitConverter.TryWriteBytes(bytes.AsSpan(i * 4), (float)i);
        var storage = new TensorStorage("0", DataType.Float32, 6, bytes);
        var t = new TensorData(storage, 0, [3, 2], [1, 3]);
        Assert.False(t.IsContiguous);
        Assert.Equal([0f, 3, 1, 4, 2, 5], t.ToFloatArray());
        var row = new TensorData(storage, 3, [1, 3], [99, 1]);
        Assert.True(row.IsContiguous);
        Assert.Equal([3f, 4, 5], row.ToFloatArray());
        Assert.True(MemoryMarshal.TryGetArray(row.ContiguousBytes(), out var segment) && segment.Offset == 12);
    }

    [Fact]
    public void Stored_entries_are_views_on_the_mapped_file()
    {
        var path = Fixture("v1x_small.pt");
        byte[] expected;
        using (var zip = ZipFile.OpenRead(path))
        {
            var entry = zip.GetEntry("v1x_small/data/0")!;
            using var s = entry.Open();
            using var copy = new MemoryStream();
            s.CopyTo(copy);
            expected = copy.ToArray();
        }
        ReadOnlyMemory<byte> memory;
        using (var archive = TorchScriptArchive.Open(path))
        {
            memory = archive.Read("data/0");
            Assert.True(memory.Span.SequenceEqual(expected));
            Assert.True(MemoryMarshal.TryGetMemoryManager<byte, MappedMemoryManager>(memory, out var manager));
            Assert.Same(archive, manager.Owner);
            Assert.False(MemoryMarshal.TryGetArray(memory, out _));
        }
        Assert.Throws<ObjectDisposedException>(() => memory.Span.Length);
    }

    [Fact]
    public void Deflated_entries_match_system_io_compression()
    {
        var path = Fixture("v1x_small.pt");
        using var archive = TorchScriptArchive.Open(path);
        using var zip = ZipFile.OpenRead(path);
        foreach (var name in archive.EntryNames)
        {
            using var s = zip.GetEntry(archive.RootFolder + "/" + name)!.Open();
            using var copy = new MemoryStream();
            s.CopyTo(copy);
            Assert.True(archive.Read(name).Span.SequenceEqual(copy.ToArray()), name);
        }
    }

    [Fact]
    public void Zip64_records_and_extra_fields_are_understood()
    {
        using var dir = new TempDir();
        var file = dir.File("zip64.pt");
        WriteZip64(file, MinimalArchive("z"));
        using var archive = TorchScriptArchive.Open(file);
        Assert.Equal("z", archive.RootFolder);
        Assert.Equal(3, archive.FormatVersion);
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8], archive.Read("data/0").ToArray());
        Assert.Null(archive.LoadPickle("data.pkl"));
    }

    [Fact]
    public void Missing_file_is_MF1001() =>
        Throws(DiagnosticCode.FileNotFound, () => TorchScriptArchive.Open("/nonexistent/model.pt"));

    [Fact]
    public void State_dict_is_MF1003_with_a_torch_jit_hint()
    {
        var e = Throws(DiagnosticCode.NotTorchScript, () => TorchScriptArchive.Open(Fixture("state_dict.pt")));
        Assert.Contains("torch.save", e.Message);
        Assert.Contains("torch.jit.trace", e.Diagnostics[0].Hint);
        Assert.Contains("torch.jit.save", e.Diagnostics[0].Hint);
    }

    [Fact]
    public void Non_zip_files_are_MF1002_with_a_hint()
    {
        using var dir = new TempDir();
        var pickle = dir.File("legacy.pt");
        File.WriteAllBytes(pickle, [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, (byte)'.']);
        var e = Throws(DiagnosticCode.NotAZipArchive, () => TorchScriptArchive.Open(pickle));
        Assert.Contains("torch.jit.save", e.Diagnostics[0].Hint);

        var onnx = dir.File("model.onnx");
        File.WriteAllBytes(onnx, [0x08, 0x07, 0x12, 0x07, .. "pytorch"u8]);
        Assert.Contains("ONNX", Throws(DiagnosticCode.NotAZipArchive, () => TorchScriptArchive.Open(onnx)).Message);

        var empty = dir.File("empty.pt");
        File.WriteAllBytes(empty, []);
        Throws(DiagnosticCode.NotAZipArchive, () => TorchScriptArchive.Open(empty));

        var text = dir.File("text.pt");
        File.WriteAllText(text, "hello, this is not a model at all");
        Throws(DiagnosticCode.NotAZipArchive, () => TorchScriptArchive.Open(text));
    }

    [Fact]
    public void Truncated_archives_are_MF1004_or_MF1002_and_nothing_else()
    {
        var bytes = File.ReadAllBytes(Fixture("v1x_small.pt"));
        using var dir = new TempDir();
        var file = dir.File("cut.pt");
        var step = Math.Max(1, bytes.Length / 300);
        for (var length = 1; length < bytes.Length; length += step)
        {
            File.WriteAllBytes(file, bytes[..length]);
            var e = Assert.Throws<ModelForgeException>(() => TorchScriptArchive.Open(file).Dispose());
            Assert.True(e.Code is DiagnosticCode.ArchiveCorrupt or DiagnosticCode.NotAZipArchive, $"length {length}: {e.Message}");
        }
    }

    [Fact]
    public void Corrupted_bytes_give_diagnostics_not_crashes()
    {
        var bytes = File.ReadAllBytes(Fixture("v1x_small.pt"));
        using var dir = new TempDir();
        var file = dir.File("flipped.pt");
        var random = new Random(1234);
        for (var round = 0; round < 300; round++)
        {
            var copy = (byte[])bytes.Clone();
            // Mostly hit the central directory and end records (the tail), sometimes anywhere.
            for (var k = 0; k < 3; k++)
            {
                var at = round % 3 == 0 ? random.Next(copy.Length) : copy.Length - 1 - random.Next(Math.Min(copy.Length, 2000));
                copy[at] = (byte)random.Next(256);
            }
            File.WriteAllBytes(file, copy);
            try
            {
                using var archive = TorchScriptArchive.Open(file);
                foreach (var name in archive.EntryNames) _ = archive.Read(name).Length;
                archive.LoadPickle("data.pkl");
            }
            catch (ModelForgeException)
            {
            }
        }
    }

    [Theory]
    [InlineData("m/../evil")]
    [InlineData("../evil")]
    [InlineData("/m/evil")]
    [InlineData("m\\evil")]
    [InlineData("C:/m/evil")]
    public void Unsafe_entry_names_are_MF1005(string name)
    {
        using var dir = new TempDir();
        var file = dir.File("evil.pt");
        WriteZip(file, [.. MinimalArchive(), (name, "x"u8.ToArray())]);
        var e = Throws(DiagnosticCode.UnsafeArchiveEntry, () => TorchScriptArchive.Open(file));
        Assert.Contains(name, e.Message);
    }

    [Fact]
    public void Duplicate_entries_are_MF1005()
    {
        using var dir = new TempDir();
        var file = dir.File("dup.pt");
        WriteZip(file, [.. MinimalArchive(), ("m/data/0", [9, 9, 9, 9, 9, 9, 9, 9])]);
        Assert.Contains("m/data/0", Throws(DiagnosticCode.UnsafeArchiveEntry, () => TorchScriptArchive.Open(file)).Message);
    }

    [Fact]
    public void Zip_bomb_ratio_is_MF1005()
    {
        using var dir = new TempDir();
        var file = dir.File("bomb.pt");
        var archive = MinimalArchive();
        archive.Add(("m/code/__torch__/zeros.py", new byte[4 << 20]));
        WriteZip(file, archive, compress: true);
        Assert.Contains("zeros.py", Throws(DiagnosticCode.UnsafeArchiveEntry, () => TorchScriptArchive.Open(file)).Message);
    }

    [Fact]
    public void Compressed_archives_still_read()
    {
        using var dir = new TempDir();
        var file = dir.File("deflated.pt");
        WriteZip(file, MinimalArchive(), compress: true);
        using var archive = TorchScriptArchive.Open(file);
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8], archive.Read("data/0").ToArray());
        Assert.Equal(["code/__torch__/m.py"], archive.CodeFiles);
    }

    [Fact]
    public void Entries_outside_one_root_folder_are_MF1003()
    {
        using var dir = new TempDir();
        var twoRoots = dir.File("two.pt");
        WriteZip(twoRoots, [.. MinimalArchive(), ("other/x", [1])]);
        Throws(DiagnosticCode.NotTorchScript, () => TorchScriptArchive.Open(twoRoots));
        var topLevel = dir.File("top.pt");
        WriteZip(topLevel, [.. MinimalArchive(), ("x", [1])]);
        Throws(DiagnosticCode.NotTorchScript, () => TorchScriptArchive.Open(topLevel));
        var noCode = dir.File("nocode.pt");
        WriteZip(noCode, MinimalArchive().Where(e => !e.Name.Contains("code/")));
        Assert.Contains("torch.jit.save", Throws(DiagnosticCode.NotTorchScript, () => TorchScriptArchive.Open(noCode)).Diagnostics[0].Hint);
    }

    [Fact]
    public void Missing_entries_and_bad_storages_are_diagnosed()
    {
        using var dir = new TempDir();
        var file = dir.File("m.pt");
        WriteZip(file, MinimalArchive());
        using var archive = TorchScriptArchive.Open(file);
        Throws(DiagnosticCode.ArchiveCorrupt, () => archive.Read("data/1"));
        Assert.False(archive.Contains("data/1"));
    }

    [Fact]
    public void Malicious_archive_is_refused_naming_os_system()
    {
        var e = Assert.Throws<ModelForgeException>(() =>
        {
            using var archive = TorchScriptArchive.Open(Fixture("malicious_os_system.pt"));
            archive.LoadPickle("data.pkl");
        });
        Assert.Equal(DiagnosticCode.PickleForbiddenGlobal, e.Code);
        Assert.Contains("os.system", e.Message);
    }
}
