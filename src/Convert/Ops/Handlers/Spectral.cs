using ModelForge.Convert.IR;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Convert.Ops.Handlers;

// Spectral: short-time Fourier transforms and the views between complex tensors and their real/imaginary pairs. The
// graph carries a complex tensor as real values with a trailing dim of 2 (real, imaginary), the layout of ONNX's DFT
// and STFT (Value.IsComplex); the interpreter adapts the shape ops that see one (Interpreter.Complex.cs). Both transforms
// are a convolution with a windowed Fourier basis, so they lower the same way at every opset.

/// <summary>
/// <c>stft(x, n_fft, hop_length, win_length, window, normalized, onesided, return_complex)</c> (what torch.stft traces
/// to in PyTorch 1.13 and 2.x, traced or scripted: <c>center</c> and <c>pad_mode</c> become an <c>aten::pad</c> before it).
/// Frames times window times the Fourier basis are one Conv of stride hop,
/// whose weight is the basis (<c>e^{-2πikn/N}</c>, divided by √N when normalized) times the window, zero-padded to
/// n_fft in the middle as torch pads it: [B, L] → [B, 2F, T] → [B, F, T, 2]. return_complex gives that tensor as a
/// complex one, otherwise as real.
/// </summary>
[AtenOp("aten::stft")]
internal static class Stft
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        var nFft = a.Int(1, "n_fft");
        var hop = a.Int(2, "hop_length", nFft / 4);
        var winLength = a.Int(3, "win_length", nFft);
        if (a.Get(6, "pad_mode") is string)
            throw c.Error(DiagnosticCode.InvalidOpArguments, $"{c.OpName}.center (center and pad_mode as arguments) is not supported",
                "call torch.stft, which pads the signal itself and calls aten::stft without them");
        var normalized = a.Bool(5, "normalized", false);
        var onesided = a.Bool(6, "onesided", true);
        var returnComplex = a.Bool(7, "return_complex", false);
        if (x.Type.Rank is not (1 or 2))
            throw c.Error(DiagnosticCode.ShapeMismatch, $"{c.OpName} expects a 1-D or 2-D signal, got {x.Type}");

        var signal = c.Unsqueeze(x, x.Type.Rank == 1 ? [0, 1] : [1]);
        var bins = onesided ? nFft / 2 + 1 : nFft;
        var scale = normalized ? 1 / Math.Sqrt(nFft) : 1;
        var window = Fourier.PaddedWindow(c, x.Type.ElementType, a.OptionalTensor(4, "window"), winLength, nFft);
        var kernel = Fourier.Kernel(c, x.Type.ElementType, window, nFft, bins, (_, angle) => (scale * Math.Cos(angle), -scale * Math.Sin(angle)));
        var length = signal.Type.Shape![2];
        var frames = length.Value is { } l ? Dim.Of((l - nFft) / hop + 1) : Shapes.Unknown();
        var batch = signal.Type.Shape[0];
        var spectrum = c.Op("Conv", [signal, kernel], x.Type.WithShape([batch, 2 * bins, frames]), ("strides", new[] { hop }));
        var pairs = c.Op("Reshape", [spectrum, c.ConstInt64([0, 2, bins, -1])], x.Type.WithShape([batch, 2, bins, frames]));
        var result = c.Op("Transpose", [pairs], x.Type.WithShape([batch, bins, frames, 2]), ("perm", new long[] { 0, 2, 3, 1 }));
        if (x.Type.Rank == 1)
            result = c.Op("Squeeze", [result, c.ConstInt64([0])], x.Type.WithShape([bins, frames, 2]));
        result.IsComplex = returnComplex;
        return result;
    }
}

/// <summary>
/// <c>istft(z, n_fft, hop_length, win_length, window, center, normalized, onesided, length, return_complex)</c> of a
/// complex [B, F, T] (or [F, T]) spectrum to a real signal, as torch computes it: each frame's inverse real FFT (of the
/// first n_fft/2 + 1 bins; the imaginary parts of the DC and Nyquist bins drop out), times the window, overlap-added, and
/// divided by the overlap-added squared window. The first three are one ConvTranspose of stride hop, whose weight is the
/// inverse basis (<c>c_k e^{2πikn/N} / N</c>, c_k = 2 but for DC and Nyquist; / √N when normalized) times the window;
/// the envelope is a ConvTranspose of ones with the squared window. center trims n_fft/2 from both ends; length cuts (or
/// zero-pads) the signal to that many samples from there.
/// </summary>
[AtenOp("aten::istft")]
internal static class Istft
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var z = Fourier.ComplexArgument(c, a);
        if (a.Bool(9, "return_complex", false))
            throw c.Error(DiagnosticCode.ComplexOpUnsupported, $"{c.OpName} with return_complex=True gives a complex signal, which ModelForge does not lower",
                "use return_complex=False (a real signal) where the spectrum is one of a real signal");
        var nFft = a.Int(1, "n_fft");
        var hop = a.Int(2, "hop_length", nFft / 4);
        var winLength = a.Int(3, "win_length", nFft);
        var center = a.Bool(5, "center", true);
        var normalized = a.Bool(6, "normalized", false);
        var length = a.IsNone(8, "length") ? (long?)null : a.Int(8, "length");
        if (z.Type.Rank is not (3 or 4))
            throw c.Error(DiagnosticCode.ShapeMismatch, $"{c.OpName} expects a complex [F, T] or [B, F, T] spectrum, got {z.Type} (as real [..., 2])");

        var spectrum = z.Type.Rank == 3 ? c.Unsqueeze(z, [0]) : z;
        var shape = spectrum.Type.Shape!;
        var (batch, frames) = (shape[0], shape[2]);
        var storedBins = shape[1].Value ?? throw c.Error(DiagnosticCode.StaticValueRequired, $"{c.OpName} needs the number of frequency bins at conversion time");
        var onesided = a.IsNone(7, "onesided") ? storedBins != nFft : a.Bool(7, "onesided");
        if (storedBins != (onesided ? nFft / 2 + 1 : nFft))
            throw c.Error(DiagnosticCode.ShapeMismatch,
                $"{c.OpName} of {storedBins} frequency bins with n_fft {nFft} and onesided={onesided}: expected {(onesided ? nFft / 2 + 1 : nFft)}");
        // A two-sided spectrum gives a real signal from its first half, as torch's _fft_c2r does.
        var bins = nFft / 2 + 1;
        if (!onesided) spectrum = Slice.Static(c, spectrum, 1, 0, bins);

        var channels = c.Op("Transpose", [spectrum], spectrum.Type.WithShape([batch, 2, bins, frames]), ("perm", new long[] { 0, 3, 1, 2 }));
        channels = c.Op("Reshape", [channels, c.ConstInt64([0, 2 * bins, -1])], channels.Type.WithShape([batch, 2 * bins, frames]));
        var type = z.Type.ElementType;
        var scale = normalized ? 1 / Math.Sqrt(nFft) : 1.0 / nFft;
        var window = Fourier.PaddedWindow(c, type, a.OptionalTensor(4, "window"), winLength, nFft);
        var kernel = Fourier.Kernel(c, type, window, nFft, bins, (k, angle) =>
        {
            var weight = k == 0 || 2 * k == nFft ? scale : 2 * scale;
            return (weight * Math.Cos(angle), -weight * Math.Sin(angle));
        });
        var total = frames.Value is { } t ? Dim.Of((t - 1) * hop + nFft) : Shapes.Unknown();
        var strides = ("strides", new AttributeValue(new[] { hop }));
        var signal = c.Op("ConvTranspose", [channels, kernel], z.Type.WithShape([batch, 1, total]), strides);

        var squared = c.Op("Mul", [window, window], window.Type);
        var frameCount = frames.Value is { } f ? (object)f : new Interpret.DynamicInt(c.DimSize(channels, 2));
        var ones = Full.Of(c, c.ShapeTensor([1L, 1L, frameCount]), [1, 1, frames], 1L, type);
        var envelope = c.Op("ConvTranspose", [ones, c.Op("Reshape", [squared, c.ConstInt64([1, 1, nFft])], window.Type.WithShape([1, 1, nFft]))],
            z.Type.WithShape([1, 1, total]), strides);
        signal = c.Op("Div", [signal, envelope], signal.Type);

        var start = center ? nFft / 2 : 0;
        if (length is { } wanted)
        {
            var available = total.Value ?? throw c.Error(DiagnosticCode.StaticValueRequired,
                $"{c.OpName} with length needs the number of frames at conversion time");
            var end = Math.Min(start + wanted, available);
            signal = Slice.Static(c, signal, 2, start, end);
            if (start + wanted > available)
                signal = c.Op("Pad", [signal, c.ConstInt64([0, 0, 0, 0, 0, start + wanted - available]), c.Scalar(0, type)],
                    signal.Type.WithShape([batch, 1, wanted]), ("mode", "constant"));
        }
        else if (center)
        {
            signal = Slice.Static(c, signal, 2, start, -start);
        }
        var samples = signal.Type.Shape![2];
        return z.Type.Rank == 3
            ? c.Op("Squeeze", [signal, c.ConstInt64([0, 1])], signal.Type.WithShape([samples]))
            : c.Op("Squeeze", [signal, c.ConstInt64([1])], signal.Type.WithShape([batch, samples]));
    }
}

/// <summary><c>view_as_real(z)</c>: the complex tensor's [..., 2] real layout as a real tensor (an Identity the optimizer drops).</summary>
[AtenOp("aten::view_as_real")]
internal static class ViewAsReal
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var z = Fourier.ComplexArgument(c, a);
        return c.Op("Identity", [z], z.Type);
    }
}

/// <summary><c>view_as_complex(x)</c> of a real [..., 2] tensor: the same values, carried as a complex tensor from here on.</summary>
[AtenOp("aten::view_as_complex")]
internal static class ViewAsComplex
{
    [Opset(13)]
    private static object? V13(OpContext c, OpArgs a)
    {
        var x = a.Tensor(0);
        if (x.Type.Shape is not { Count: > 0 } shape || shape[^1].Value != 2 || !x.Type.ElementType.IsFloatingPoint())
            throw c.Error(DiagnosticCode.ShapeMismatch, $"{c.OpName} expects a floating-point tensor whose last dim is 2, got {x.Type}");
        var z = c.Op("Identity", [x], x.Type);
        z.IsComplex = true;
        return z;
    }
}

/// <summary>The Fourier kernels of stft and istft: a basis of n_fft samples per frequency bin, times the window.</summary>
internal static class Fourier
{
    /// <summary>
    /// A [2 × bins, 1, n_fft] kernel: row k is <c>re(k, 2πkn/N)</c> times the window, row bins + k <c>im(k, 2πkn/N)</c> times it
    /// (the channel order of [B, 2, F, T] reshaped to [B, 2F, T]).
    /// </summary>
    public static Value Kernel(OpContext c, DataType type, Value paddedWindow, long nFft, long bins, Func<long, double, (double Re, double Im)> basis)
    {
        var values = new double[2 * bins * nFft];
        for (var k = 0L; k < bins; k++)
        for (var n = 0L; n < nFft; n++)
        {
            // k·n mod N keeps the angle in [0, 2π), where cos and sin are exact to the last bits.
            var (re, im) = basis(k, 2 * Math.PI * (k * n % nFft) / nFft);
            values[k * nFft + n] = re;
            values[(bins + k) * nFft + n] = im;
        }
        var fourier = c.ConstantFrom(type, [2 * bins, 1, nFft], values, "fourier_basis");
        return c.Op("Mul", [fourier, paddedWindow], fourier.Type);
    }

    /// <summary>The complex tensor istft and view_as_real take first: PyTorch refuses a real one too.</summary>
    public static Value ComplexArgument(OpContext c, OpArgs a) => a.Tensor(0) is { IsComplex: true } z ? z
        : throw c.Error(DiagnosticCode.InvalidOpArguments, $"{c.OpName} expects a complex tensor, got a real tensor {a.Tensor(0).Type}",
            "make it complex with torch.view_as_complex of its [..., 2] form, as PyTorch requires");

    /// <summary>The window (ones when None) of win_length samples, zero-padded on both sides to n_fft, as torch pads it.</summary>
    public static Value PaddedWindow(OpContext c, DataType type, Value? window, long winLength, long nFft)
    {
        if (winLength <= 0 || winLength > nFft)
            throw c.Error(DiagnosticCode.InvalidOpArguments, $"{c.OpName} expects 0 < win_length ≤ n_fft, got win_length {winLength} and n_fft {nFft}");
        if (window is not null && (window.Type.Shape is not { Count: 1 } shape || shape[0].Value != winLength))
            throw c.Error(DiagnosticCode.ShapeMismatch, $"{c.OpName} expects a 1-D window of win_length {winLength} samples, got {window.Type}");
        var samples = window is null ? c.Filled(type, [winLength], 1, "window") : c.Cast(window, type);
        var left = (nFft - winLength) / 2;
        return winLength == nFft ? samples
            : c.Op("Pad", [samples, c.ConstInt64([left, nFft - winLength - left]), c.Scalar(0, type)], samples.Type.WithShape([nFft]), ("mode", "constant"));
    }
}
