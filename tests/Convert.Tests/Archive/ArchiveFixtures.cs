using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Tests.Archive;

/// <summary>Paths of the archive fixtures (fixtures/archives, made by fixtures/generate.sh) and helpers to build zips.</summary>
internal static class ArchiveFixtures
{
    /// <summary>fixtures/archives/<paramref name="name"/>.</summary>
    public static string Fixture(string name) => RepoPaths.Fixture("archives", name);

    public static ModelForgeException Throws(DiagnosticCode code, Action action)
    {
        var e = Assert.Throws<ModelForgeException>(action);
        Assert.True(e.Code == code, $"expected {code.AsString()} but got {e.Message}");
        return e;
    }

    /// <summary>A scratch folder, deleted on dispose.</summary>
    public sealed class TempDir : IDisposable
    {
        public string Dir { get; } = Directory.CreateTempSubdirectory("mf-archive-tests-").FullName;
        public string File(string name) => System.IO.Path.Combine(Dir, name);
        public void Dispose()
        {
            try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Writes a zip with System.IO.Compression (stored entries unless <paramref name="compress"/>).</summary>
    public static void WriteZip(string path, IEnumerable<(string Name, byte[] Data)> entries, bool compress = false)
    {
        using var stream = File.Create(path);
        using var zip = new ZipArchive(stream, ZipArchiveMode.Create);
        foreach (var (name, data) in entries)
        {
            var entry = zip.CreateEntry(name, compress ? CompressionLevel.SmallestSize : CompressionLevel.NoCompression);
            using var s = entry.Open();
            s.Write(data);
        }
    }

    /// <summary>
    /// The entries of a fixture archive with <paramref name="original"/> in its <c>code/__torch__.py</c> replaced, for
    /// code that torch.jit.save would not write but a damaged or hand-edited archive can hold.
    /// </summary>
    public static List<(string Name, byte[] Data)> WithCodeReplaced(string archive, string original, string replacement)
    {
        using var zip = ZipFile.OpenRead(archive);
        var entries = new List<(string Name, byte[] Data)>();
        foreach (var entry in zip.Entries)
        {
            using var stream = entry.Open();
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var data = copy.ToArray();
            if (entry.FullName.EndsWith("code/__torch__.py", StringComparison.Ordinal))
            {
                var code = Encoding.UTF8.GetString(data);
                Assert.Contains(original, code);
                data = Encoding.UTF8.GetBytes(code.Replace(original, replacement));
            }
            entries.Add((entry.FullName, data));
        }
        return entries;
    }

    /// <summary>The line of fixtures/ops/int64_index_arithmetic that <see cref="ConvertIndexArithmeticWith"/> replaces.</summary>
    public const string IndexArithmeticRemainderLine = "_2 = torch.remainder(torch.mul(ids, CONSTANTS.c3), 5)";

    /// <summary>Converts fixtures/ops/int64_index_arithmetic with its remainder line replaced by <paramref name="line"/> (which binds _2).</summary>
    public static void ConvertIndexArithmeticWith(string line)
    {
        using var dir = new TempDir();
        var model = dir.File("model.pt");
        WriteZip(model, WithCodeReplaced(RepoPaths.Fixture("ops", "int64_index_arithmetic", "model.pt"), IndexArithmeticRemainderLine, line));
        using var _ = ModelConverter.Convert(model, new ConvertOptions([InputSpec.Parse("ids:int64[batch,6]")]));
    }

    /// <summary>The smallest set of entries that passes as a TorchScript archive.</summary>
    public static List<(string Name, byte[] Data)> MinimalArchive(string root = "m") =>
    [
        ($"{root}/data.pkl", [0x80, 0x02, (byte)'N', (byte)'.']),
        ($"{root}/code/__torch__/m.py", Encoding.UTF8.GetBytes("class M(Module):\n  pass\n")),
        ($"{root}/data/0", [1, 2, 3, 4, 5, 6, 7, 8]),
        ($"{root}/version", "3\n"u8.ToArray()),
    ];

    /// <summary>
    /// Writes a stored-only zip that uses ZIP64 everywhere: saturated sizes/offsets in the central directory with a
    /// ZIP64 extra field, a ZIP64 end of central directory record and locator, and 0xFFFF counts in the classic record.
    /// </summary>
    public static void WriteZip64(string path, IEnumerable<(string Name, byte[] Data)> entries)
    {
        using var output = new MemoryStream();
        var central = new MemoryStream();
        var count = 0;
        foreach (var (name, data) in entries)
        {
            var nameBytes = Encoding.UTF8.GetBytes(name);
            var offset = output.Position;
            var crc = 0u; // the reader does not check CRCs
            // local header with a ZIP64 extra (sizes)
            Write(output, 0x04034b50u); Write(output, (ushort)45); Write(output, (ushort)0); Write(output, (ushort)0);
            Write(output, (ushort)0); Write(output, (ushort)0); Write(output, crc);
            Write(output, 0xFFFFFFFFu); Write(output, 0xFFFFFFFFu);
            Write(output, (ushort)nameBytes.Length); Write(output, (ushort)20);
            output.Write(nameBytes);
            Write(output, (ushort)1); Write(output, (ushort)16); Write(output, (long)data.Length); Write(output, (long)data.Length);
            output.Write(data);
            // central header: sizes and offset all in the ZIP64 extra
            Write(central, 0x02014b50u); Write(central, (ushort)45); Write(central, (ushort)45); Write(central, (ushort)0);
            Write(central, (ushort)0); Write(central, (ushort)0); Write(central, (ushort)0); Write(central, crc);
            Write(central, 0xFFFFFFFFu); Write(central, 0xFFFFFFFFu);
            Write(central, (ushort)nameBytes.Length); Write(central, (ushort)28); Write(central, (ushort)0);
            Write(central, (ushort)0); Write(central, (ushort)0); Write(central, 0u); Write(central, 0xFFFFFFFFu);
            central.Write(nameBytes);
            Write(central, (ushort)1); Write(central, (ushort)24);
            Write(central, (long)data.Length); Write(central, (long)data.Length); Write(central, offset);
            count++;
        }
        var cdOffset = output.Position;
        central.Position = 0;
        central.CopyTo(output);
        var cdSize = output.Position - cdOffset;
        var eocd64 = output.Position;
        Write(output, 0x06064b50u); Write(output, 44L); Write(output, (ushort)45); Write(output, (ushort)45);
        Write(output, 0u); Write(output, 0u); Write(output, (long)count); Write(output, (long)count); Write(output, cdSize); Write(output, cdOffset);
        Write(output, 0x07064b50u); Write(output, 0u); Write(output, eocd64); Write(output, 1u);
        Write(output, 0x06054b50u); Write(output, (ushort)0); Write(output, (ushort)0); Write(output, (ushort)0xFFFF); Write(output, (ushort)0xFFFF);
        Write(output, 0xFFFFFFFFu); Write(output, 0xFFFFFFFFu); Write(output, (ushort)0);
        File.WriteAllBytes(path, output.ToArray());
    }

    private static void Write(Stream s, ushort v) { Span<byte> b = stackalloc byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(b, v); s.Write(b); }
    private static void Write(Stream s, uint v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); s.Write(b); }
    private static void Write(Stream s, long v) { Span<byte> b = stackalloc byte[8]; BinaryPrimitives.WriteInt64LittleEndian(b, v); s.Write(b); }
}
