using System.IO.Compression;
using ModelForge.Core.Diagnostics;
using ModelForge.Core.IO;
using ModelForge.Core.Limits;

namespace ModelForge.Model.Tensors;

/// <summary>
/// Reads and writes NumPy <c>.npz</c> archives: a zip of <c>NAME.npy</c> entries, stored (<c>np.savez</c>) or
/// deflated (<c>np.savez_compressed</c>). Arrays are keyed by NAME, without the <c>.npy</c>.
/// <para>
/// Reading never trusts the zip: each entry is decompressed only as far as its .npy header says it is long (so a
/// zip bomb costs at most the size its header declares and is refused when longer), memory grows with the bytes
/// actually read rather than with the size claimed, and entry names holding paths ('/', '\'), non-.npy members and
/// duplicates are refused. Every failure is a <see cref="ModelForgeException"/> (<see cref="DiagnosticCode.DataFileInvalid"/>).
/// </para>
/// <para>
/// Writing is atomic, uncompressed and deterministic: entries sorted by name (ordinal), every timestamp 1980-01-01.
/// </para>
/// </summary>
public static class Npz
{
    private static readonly DateTimeOffset FixedTimestamp = new(1980, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static IReadOnlyDictionary<string, HostTensor> Read(string path)
    {
        using var stream = DataFiles.OpenRead(path);
        return Read(stream, path);
    }

    /// <summary>Reads an .npz archive from a seekable stream; <paramref name="sourceName"/> names it in errors.</summary>
    public static IReadOnlyDictionary<string, HostTensor> Read(Stream stream, string sourceName)
    {
        var location = new SourceLocation(sourceName);
        try
        {
            using var archive = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
            var result = new SortedDictionary<string, HostTensor>(StringComparer.Ordinal);
            long total = 0; // data bytes of the arrays read so far, checked against the memory cap with each header
            foreach (var entry in archive.Entries)
            {
                var entryName = entry.FullName;
                var name = ArrayName(entryName, location, sourceName);
                if (result.ContainsKey(name))
                    throw Invalid(location, sourceName, $"it holds array '{name}' twice");
                var description = $"'{entryName}' in '{sourceName}'";
                using var entryStream = entry.Open();
                var bytes = ReadBounded(entryStream, location, description, sourceName, ref total);
                result.Add(name, Npy.Read(bytes, location, description));
            }
            return result;
        }
        catch (ModelForgeException)
        {
            throw;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or NotSupportedException or ArgumentException
                                      or InvalidOperationException or OverflowException or OutOfMemoryException)
        {
            throw new ModelForgeException(new Diagnostic(DiagnosticCode.DataFileInvalid,
                $"'{sourceName}' is not a valid .npz archive: {e.Message}", location,
                "write arrays with numpy.savez or numpy.savez_compressed"), e);
        }
    }

    /// <summary>Writes <paramref name="arrays"/> as an uncompressed .npz, atomically and byte-for-byte deterministically.</summary>
    public static void Write(string path, IReadOnlyDictionary<string, HostTensor> arrays)
    {
        ArgumentNullException.ThrowIfNull(arrays);
        foreach (var name in arrays.Keys)
        {
            if (!IsValidName(name))
                throw new ArgumentException($"array name '{name}' cannot be an .npz entry (empty, '.', '..', or holds '/', '\\' or control characters)", nameof(arrays));
        }
        var entries = arrays.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => (p.Key, Bytes: Npy.ToBytes(p.Value))).ToList();
        AtomicFile.Write(path, stream => WriteTo(stream, entries));
    }

    /// <summary>The .npz bytes of <paramref name="arrays"/>, as <see cref="Write(string, IReadOnlyDictionary{string, HostTensor})"/> writes them.</summary>
    public static byte[] ToBytes(IReadOnlyDictionary<string, HostTensor> arrays)
    {
        ArgumentNullException.ThrowIfNull(arrays);
        var entries = arrays.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => (p.Key, Bytes: Npy.ToBytes(p.Value))).ToList();
        using var memory = new MemoryStream();
        WriteTo(memory, entries);
        return memory.ToArray();
    }

    private static void WriteTo(Stream stream, List<(string Name, byte[] Bytes)> entries)
    {
        using var archive = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
        foreach (var (name, bytes) in entries)
        {
            var entry = archive.CreateEntry(name + ".npy", CompressionLevel.NoCompression);
            entry.LastWriteTime = FixedTimestamp;
            using var entryStream = entry.Open();
            entryStream.Write(bytes);
        }
    }

    private static bool IsValidName(string name) =>
        name.Length > 0 && name is not ("." or "..") && !name.Any(c => c is '/' or '\\' || char.IsControl(c));

    private static string ArrayName(string entryName, SourceLocation location, string sourceName)
    {
        if (!entryName.EndsWith(".npy", StringComparison.Ordinal))
            throw Invalid(location, sourceName, $"it holds '{entryName}', which is not an .npy array");
        var name = entryName[..^4];
        if (!IsValidName(name))
            throw Invalid(location, sourceName, $"it holds an entry named '{entryName}': array names must not be empty or hold paths");
        return name;
    }

    /// <summary>
    /// Reads one entry: first its .npy header, then exactly as many data bytes as the header declares, and one
    /// more byte to prove there is no more. Buffers grow with what is read, never with what is claimed, and the
    /// declared data sizes (this entry's, and <paramref name="total"/> with the entries before it) are checked against
    /// the memory cap before the data is read.
    /// </summary>
    private static byte[] ReadBounded(Stream stream, SourceLocation location, string description, string sourceName, ref long total)
    {
        var buffer = new MemoryStream();
        ReadUpTo(stream, buffer, 12);
        var dataOffset = Npy.DataOffset(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), location, description);
        if (dataOffset is { } offset && offset > buffer.Length) ReadUpTo(stream, buffer, offset - buffer.Length);
        if (dataOffset is null || dataOffset.Value > buffer.Length)
            throw Npy.Invalid(location, description, $"the entry is truncated inside its header ({buffer.Length} bytes)");
        var header = Npy.ParseHeader(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), location, description);
        total += header.DataLength; // each is at most Array.MaxLength (ParseHeader), so this cannot overflow
        MemoryLimit.Check(total, $"the arrays of '{sourceName}' read so far", location);
        var end = header.DataOffset + header.DataLength;
        if (end > buffer.Length) ReadUpTo(stream, buffer, end - buffer.Length);
        if (buffer.Length != end)
            return buffer.ToArray(); // Npy.Read reports the truncation with sizes
        if (stream.ReadByte() >= 0)
            throw Npy.Invalid(location, description,
                $"the entry is longer than the {header.DataLength} data bytes its header declares for shape {Npy.ShapeText(header.Shape)} of {header.Descr}");
        return buffer.ToArray();
    }

    /// <summary>Appends up to <paramref name="count"/> bytes from <paramref name="stream"/>; returns how many came.</summary>
    private static long ReadUpTo(Stream stream, MemoryStream buffer, long count)
    {
        var chunk = new byte[(int)Math.Clamp(count, 1, 1 << 20)];
        long total = 0;
        while (total < count)
        {
            var read = stream.Read(chunk, 0, (int)Math.Min(chunk.Length, count - total));
            if (read == 0) break;
            buffer.Write(chunk, 0, read);
            total += read;
        }
        return total;
    }

    private static ModelForgeException Invalid(SourceLocation location, string sourceName, string problem) =>
        new(DiagnosticCode.DataFileInvalid, $"'{sourceName}' is not a valid .npz archive: {problem}", location,
            "write arrays with numpy.savez or numpy.savez_compressed; keys become the array names");
}
