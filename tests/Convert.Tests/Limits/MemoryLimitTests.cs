using ModelForge.Core.Diagnostics;
using ModelForge.Core.Limits;

namespace ModelForge.Convert.Tests.Limits;

/// <summary>The cap itself (src/Core/Limits/MemoryLimit.cs); the places that check it have their tests next to theirs.</summary>
public sealed class MemoryLimitTests
{
    [Theory]
    [InlineData("1", 1L << 20)]
    [InlineData("8192", 8192L << 20)]
    [InlineData(" 512 ", 512L << 20)]
    public void Variable_values_are_MiB(string value, long bytes) => Assert.Equal(bytes, MemoryLimit.ParseMegabytes(value));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void Unset_or_empty_variable_means_the_default(string? value) => Assert.Null(MemoryLimit.ParseMegabytes(value));

    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("+5")]
    [InlineData("1.5")]
    [InlineData("8GB")]
    [InlineData("lots")]
    [InlineData("99999999999999999999999")]
    [InlineData("9223372036854775807")]
    public void Invalid_variable_values_are_MF1015(string value)
    {
        var e = Assert.Throws<ModelForgeException>(() => MemoryLimit.ParseMegabytes(value));
        Assert.Equal(DiagnosticCode.MemoryLimitInvalid, e.Code);
        Assert.Contains(MemoryLimit.EnvironmentVariable, e.Message);
        Assert.Equal("MF1015", e.Code.AsString());
    }

    [Fact]
    public void Default_is_positive_and_below_the_memory_the_process_may_use()
    {
        var available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        var cap = MemoryLimit.DefaultBytes();
        Assert.True(available > 0, $"TotalAvailableMemoryBytes is {available}");
        Assert.InRange(cap, 1, available - 1);
        Assert.Equal((long)(available * MemoryLimit.DefaultFraction), cap);
    }

    [Fact]
    public void Check_passes_up_to_the_cap_and_refuses_above_it_naming_what_where_and_the_cap()
    {
        using (MemoryLimit.Override(1000))
        {
            Assert.Equal(1000, MemoryLimit.Bytes);
            MemoryLimit.Check(1000, "a thing", null);
            var e = Assert.Throws<ModelForgeException>(() => MemoryLimit.Check(1001, "tensor storage 'x'", new SourceLocation("m.pt")));
            Assert.Equal(DiagnosticCode.MemoryLimitExceeded, e.Code);
            Assert.Equal("MF1014", e.Code.AsString());
            var d = e.Diagnostics[0];
            Assert.Contains("tensor storage 'x' needs 1001 bytes", d.Message);
            Assert.Contains("1000 bytes", d.Message);
            Assert.Contains("lowered for a test", d.Message);
            Assert.Equal("m.pt", d.Location?.File);
            Assert.Contains(MemoryLimit.EnvironmentVariable, d.Hint);
        }
    }

    [Fact]
    public async Task Override_is_scoped_to_the_calling_flow_and_restored_on_dispose()
    {
        var outside = MemoryLimit.Bytes;
        using (MemoryLimit.Override(4096))
        {
            using (MemoryLimit.Override(16))
                Assert.Equal(16, MemoryLimit.Bytes);
            Assert.Equal(4096, MemoryLimit.Bytes);
            Assert.Equal(4096, await Task.Run(() => MemoryLimit.Bytes)); // flows into tasks it starts
            // A thread that does not inherit this flow's context keeps the process-wide cap.
            long other = 0;
            using (ExecutionContext.SuppressFlow())
            {
                var thread = new Thread(() => other = MemoryLimit.Bytes);
                thread.Start();
                thread.Join();
            }
            Assert.Equal(outside, other);
        }
        Assert.Equal(outside, MemoryLimit.Bytes);
    }
}
