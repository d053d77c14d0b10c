using System.Buffers.Binary;
using System.Text;

namespace ModelForge.Fuzz;

/// <summary>
/// Coverage-blind mutations of a seed, deterministic for a given <see cref="Random"/>: bit flips, interesting
/// values, truncation, chunk duplication/deletion/insertion, splicing with another seed, dictionary tokens and, for
/// zips, mutations confined to one entry's data (no CRC or size is fixed up, so mismatches appear as well).
/// </summary>
internal sealed class Mutator(Random random, IReadOnlyList<byte[]> seeds, IReadOnlyList<byte[]> dictionary, bool zipAware, int maxLength)
{
    private static readonly byte[] InterestingBytes = [0, 1, 0x7f, 0x80, 0xff, 0x10, 0x20, 0x40, 0xfe];
    private static readonly long[] InterestingValues =
        [0, 1, -1, 2, 16, 32, 64, 100, 127, 128, 255, 256, 1000, 1024, 4096, 32767, 32768, 65535, 65536, 100_000,
         int.MaxValue, int.MinValue, uint.MaxValue, long.MaxValue, long.MinValue, 1L << 31, 1L << 32, 1L << 40];

    public byte[] Mutate(byte[] seed)
    {
        var data = seed;
        var rounds = 1 + random.Next(random.Next(2) == 0 ? 2 : 8);
        // Zips: four in five mutants change bytes only inside entries (the zip structure survives, with stale CRCs,
        // so the pickle and code parsers behind it get exercised); the rest are mutated anywhere.
        var insideEntries = zipAware && random.Next(5) != 0;
        // Half of those are re-packed: one entry's uncompressed content is mutated and the zip written afresh with
        // System.IO.Compression (consistent sizes and CRCs), which reaches the parsers behind deflated entries too.
        if (insideEntries && random.Next(2) == 0 && Repack(data, rounds) is { } repacked)
            return repacked.Length > maxLength ? repacked[..maxLength] : repacked;
        for (var i = 0; i < rounds; i++)
        {
            if (insideEntries && ZipEntryRange(data) is { } range)
            {
                var inner = data[range.Start..range.End];
                var mutated = MutateOnce(inner, inPlaceOnly: random.Next(8) != 0);
                data = [.. data.AsSpan(0, range.Start), .. mutated, .. data.AsSpan(range.End)];
            }
            else
            {
                data = MutateOnce(data, inPlaceOnly: false);
            }
        }
        return data.Length > maxLength ? data[..maxLength] : data;
    }

    private byte[] MutateOnce(byte[] input, bool inPlaceOnly)
    {
        var data = (byte[])input.Clone();
        if (data.Length == 0) return inPlaceOnly ? data : [.. InterestingBytes.AsSpan(0, 1 + random.Next(InterestingBytes.Length))];
        var choice = random.Next(inPlaceOnly ? 6 : 12);
        switch (choice)
        {
            case 0: // bit flips
                for (var n = 1 + random.Next(4); n > 0; n--) data[random.Next(data.Length)] ^= (byte)(1 << random.Next(8));
                return data;
            case 1: // random bytes
                for (var n = 1 + random.Next(4); n > 0; n--) data[random.Next(data.Length)] = (byte)random.Next(256);
                return data;
            case 2: // interesting byte
                data[random.Next(data.Length)] = InterestingBytes[random.Next(InterestingBytes.Length)];
                return data;
            case 3: // interesting 16/32/64-bit value, either endianness
                {
                    var width = new[] { 2, 4, 8 }[random.Next(3)];
                    if (data.Length < width) return data;
                    var at = random.Next(data.Length - width + 1);
                    var value = InterestingValues[random.Next(InterestingValues.Length)];
                    Span<byte> bytes = stackalloc byte[8];
                    BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
                    if (random.Next(4) == 0) bytes[..width].Reverse();
                    bytes[..width].CopyTo(data.AsSpan(at));
                    return data;
                }
            case 4: // arithmetic on a byte (lengths and counts off by a little)
                {
                    var at = random.Next(data.Length);
                    data[at] = (byte)(data[at] + random.Next(-16, 17));
                    return data;
                }
            case 5: // overwrite with a chunk from elsewhere (same or another seed), or a dictionary token
                {
                    var source = random.Next(2) == 0 || dictionary.Count == 0 ? Chunk(random.Next(2) == 0 ? data : Other()) : dictionary[random.Next(dictionary.Count)];
                    var at = random.Next(data.Length);
                    var n = Math.Min(source.Length, data.Length - at);
                    source.AsSpan(0, n).CopyTo(data.AsSpan(at));
                    return data;
                }
            case 6: // truncate
                return data[..random.Next(data.Length)];
            case 7: // delete a chunk
                {
                    var (start, length) = Range(data.Length);
                    return [.. data.AsSpan(0, start), .. data.AsSpan(start + length)];
                }
            case 8: // duplicate a chunk (possibly many times)
                {
                    var (start, length) = Range(data.Length);
                    var chunk = data.AsSpan(start, length).ToArray();
                    var copies = random.Next(4) == 0 ? 1 + random.Next(64) : 1;
                    var result = new List<byte>(data.Length + chunk.Length * copies);
                    result.AddRange(data.AsSpan(0, start + length).ToArray());
                    for (var c = 0; c < copies && result.Count < maxLength; c++) result.AddRange(chunk);
                    result.AddRange(data.AsSpan(start + length).ToArray());
                    return [.. result];
                }
            case 9: // insert random or interesting bytes, or a dictionary token
                {
                    var at = random.Next(data.Length + 1);
                    byte[] insert;
                    if (dictionary.Count > 0 && random.Next(2) == 0) insert = dictionary[random.Next(dictionary.Count)];
                    else
                    {
                        insert = new byte[1 + random.Next(random.Next(2) == 0 ? 4 : 64)];
                        if (random.Next(2) == 0) random.NextBytes(insert);
                        else Array.Fill(insert, InterestingBytes[random.Next(InterestingBytes.Length)]);
                    }
                    return [.. data.AsSpan(0, at), .. insert, .. data.AsSpan(at)];
                }
            case 10: // splice: the head of this input and the tail of another seed
                {
                    var other = Other();
                    if (other.Length == 0) return data;
                    var cut = random.Next(data.Length + 1);
                    var from = random.Next(other.Length);
                    return [.. data.AsSpan(0, cut), .. other.AsSpan(from)];
                }
            default: // insert a chunk of another seed
                {
                    var chunk = Chunk(Other());
                    var at = random.Next(data.Length + 1);
                    return [.. data.AsSpan(0, at), .. chunk, .. data.AsSpan(at)];
                }
        }
    }

    private byte[]? Repack(byte[] data, int rounds)
    {
        try
        {
            var entries = new List<(string Name, byte[] Data, bool Deflated)>();
            using (var zip = new System.IO.Compression.ZipArchive(new MemoryStream(data, writable: false), System.IO.Compression.ZipArchiveMode.Read))
            {
                foreach (var entry in zip.Entries)
                {
                    using var stream = entry.Open();
                    using var copy = new MemoryStream();
                    stream.CopyTo(copy);
                    entries.Add((entry.FullName, copy.ToArray(), entry.CompressedLength != entry.Length));
                }
            }
            if (entries.Count == 0) return null;
            // Prefer data.pkl, constants.pkl and code: that is where the parsers are.
            var candidates = entries.Select((e, i) => (e, i)).Where(p => p.e.Name.EndsWith(".pkl", StringComparison.Ordinal) || p.e.Name.EndsWith(".py", StringComparison.Ordinal)).Select(p => p.i).ToList();
            var index = candidates.Count > 0 && random.Next(4) != 0 ? candidates[random.Next(candidates.Count)] : random.Next(entries.Count);
            var content = entries[index].Data;
            for (var r = 0; r < rounds; r++) content = MutateOnce(content, inPlaceOnly: false);
            entries[index] = entries[index] with { Data = content };
            using var output = new MemoryStream();
            using (var zip = new System.IO.Compression.ZipArchive(output, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
            {
                foreach (var (name, bytes, deflated) in entries)
                {
                    var entry = zip.CreateEntry(name, deflated ? System.IO.Compression.CompressionLevel.Fastest : System.IO.Compression.CompressionLevel.NoCompression);
                    using var stream = entry.Open();
                    stream.Write(bytes);
                }
            }
            return output.ToArray();
        }
        catch (Exception e) when (e is InvalidDataException or IOException or ArgumentException or NotSupportedException)
        {
            return null;
        }
    }

    private byte[] Other() => seeds[random.Next(seeds.Count)];

    private byte[] Chunk(byte[] data)
    {
        if (data.Length == 0) return [];
        var (start, length) = Range(data.Length);
        return data.AsSpan(start, length).ToArray();
    }

    /// <summary>A random sub-range, usually short.</summary>
    private (int Start, int Length) Range(int total)
    {
        var max = random.Next(4) == 0 ? total : Math.Min(total, 32);
        var length = 1 + random.Next(Math.Max(1, max));
        length = Math.Min(length, total);
        return (random.Next(total - length + 1), length);
    }

    /// <summary>
    /// The data of a random zip entry, located through the central directory (PyTorch writes local headers with
    /// zero sizes and data descriptors, so the local headers alone do not say where an entry ends).
    /// </summary>
    private (int Start, int End)? ZipEntryRange(byte[] data)
    {
        var eocd = -1;
        for (var p = data.Length - 22; p >= Math.Max(0, data.Length - 22 - 65535); p--)
        {
            if (data[p] == 0x50 && BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(p)) == 0x06054b50) { eocd = p; break; }
        }
        if (eocd < 0) return null;
        int count = BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(eocd + 10));
        var pos = (long)BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(eocd + 16));
        var ranges = new List<(int, int)>();
        for (var i = 0; i < count && pos + 46 <= data.Length; i++)
        {
            var header = data.AsSpan((int)pos);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header) != 0x02014b50) break;
            var method = BinaryPrimitives.ReadUInt16LittleEndian(header[10..]);
            long size = BinaryPrimitives.ReadUInt32LittleEndian(header[20..]);
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(header[28..]);
            int extraLength = BinaryPrimitives.ReadUInt16LittleEndian(header[30..]);
            int commentLength = BinaryPrimitives.ReadUInt16LittleEndian(header[32..]);
            long local = BinaryPrimitives.ReadUInt32LittleEndian(header[42..]);
            if (pos + 46 + nameLength > data.Length) break;
            var name = Encoding.UTF8.GetString(data, (int)pos + 46, nameLength);
            pos += 46L + nameLength + extraLength + commentLength;
            if (local + 30 > data.Length || BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan((int)local)) != 0x04034b50) continue;
            var start = local + 30 + BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan((int)local + 26)) + BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan((int)local + 28));
            if (size == 0 || start + size > data.Length) continue;
            // Deflated entries (debug info) mostly just fail to inflate: mutate them rarely.
            if (method != 0 && random.Next(8) != 0) continue;
            ranges.Add(((int)start, (int)(start + size)));
            // data.pkl and the code are where the interesting parsing happens: weight them up.
            if (name.EndsWith(".pkl", StringComparison.Ordinal) || name.EndsWith(".py", StringComparison.Ordinal))
            {
                ranges.Add(((int)start, (int)(start + size)));
                ranges.Add(((int)start, (int)(start + size)));
            }
        }
        return ranges.Count == 0 ? null : ranges[random.Next(ranges.Count)];
    }
}
