# torchvision's operators for ModelForge's native reference (TorchvisionSubstitutes.cs), whose libtorch has none:
# TorchScript in the dialect of an archive's code/ files (dtypes as ScalarType numbers: 3 int32, 4 int64, 7 float64,
# 11 bool), added to a private copy of the archive as __torch__.modelforge_torchvision_ops, whose ops.torchvision.NAME
# calls are rewritten to call NAME here. Each public function has its torchvision op's schema and follows its CPU
# kernel; fixtures/validate/torchvision_ops and deform_conv2d_ops check them against real torchvision.


def nms(dets: Tensor,
    scores: Tensor,
    iou_threshold: float) -> Tensor:
  # torchvision's CPU kernel, in aten ops: visit the boxes by descending score (a stable sort, so equal scores keep
  # their input order) and keep a box unless a box kept before it overlaps it by IoU > iou_threshold. The overlap is
  # computed in the boxes' dtype in the kernel's order and compared in double, as the kernel does.
  count = torch.size(dets, 0)
  keep = torch.zeros([count], dtype=4, device=ops.prim.device(dets))
  if torch.eq(count, 0):
    return keep
  x1 = torch.select(dets, 1, 0)
  y1 = torch.select(dets, 1, 1)
  x2 = torch.select(dets, 1, 2)
  y2 = torch.select(dets, 1, 3)
  areas = torch.mul(torch.sub(x2, x1), torch.sub(y2, y1))
  order = (torch.sort(scores, stable=True, dim=0, descending=True))[1]
  suppressed = torch.zeros([count], dtype=11, device=ops.prim.device(dets))
  kept = 0
  for position in range(count):
    i = int(torch.select(order, 0, position))
    if bool(torch.select(suppressed, 0, i)):
      continue
    _0 = torch.fill_(torch.select(keep, 0, kept), i)
    kept = torch.add(kept, 1)
    width = torch.clamp(torch.sub(torch.minimum(torch.select(x2, 0, i), x2), torch.maximum(torch.select(x1, 0, i), x1)), 0.)
    height = torch.clamp(torch.sub(torch.minimum(torch.select(y2, 0, i), y2), torch.maximum(torch.select(y1, 0, i), y1)), 0.)
    inter = torch.mul(width, height)
    iou = torch.div(inter, torch.sub(torch.add(torch.select(areas, 0, i), areas), inter))
    suppressed = torch.logical_or(suppressed, torch.gt(torch.to(iou, 7), iou_threshold))
  return torch.slice(keep, 0, 0, kept)


def _bilinear_axis(coords: Tensor,
    size: int) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
  # One axis of torchvision's bilinear_interpolate: a sample outside [-1, size] reads nothing; one in [-1, 0] reads
  # the edge; the last row/column is its own neighbour. Returns (valid, low, high, weight of low, weight of high).
  valid = torch.logical_and(torch.ge(coords, -1.), torch.le(coords, size))
  clamped = torch.clamp(coords, 0.)
  low = torch.clamp(torch.to(clamped, 4), None, torch.sub(size, 1))
  high = torch.clamp(torch.add(low, 1), None, torch.sub(size, 1))
  at_edge = torch.ge(torch.to(clamped, 4), torch.sub(size, 1))
  position = torch.where(at_edge, torch.to(low, ops.prim.dtype(coords)), clamped)
  high_weight = torch.sub(position, low)
  return (valid, low, high, torch.rsub(high_weight, 1.), high_weight)


def _roi_sample_coords(start: Tensor,
    bin_size: Tensor,
    bins: int,
    grid: int) -> Tensor:
  # start + bin * bin_size + (sample + 0.5) * bin_size / grid, for every bin and sample, in the kernel's order
  bin_starts = torch.add(start, torch.mul(torch.arange(bins, dtype=ops.prim.dtype(start)), bin_size))
  offsets = torch.div(torch.mul(torch.add(torch.arange(grid, dtype=ops.prim.dtype(start)), 0.5), bin_size), grid)
  return torch.reshape(torch.add(torch.unsqueeze(bin_starts, 1), torch.unsqueeze(offsets, 0)), [-1])


def _roi_bin_sums(image: Tensor,
    roi: Tensor,
    spatial_scale: float,
    pooled_height: int,
    pooled_width: int,
    sampling_ratio: int,
    aligned: bool) -> Tuple[Tensor, int]:
  # One box of torchvision's roi_align kernel: each output bin sums grid_h x grid_w bilinear samples (sampling_ratio of
  # them per axis, or ceil(roi size / bins) when sampling_ratio <= 0); aligned shifts the box by half a pixel, otherwise
  # it is at least 1 x 1. Returns the sums, [channels, pooled_height, pooled_width], and the samples per bin.
  channels = torch.size(image, 0)
  offset = 0.
  if aligned:
    offset = 0.5
  start_w = torch.sub(torch.mul(torch.select(roi, 0, 1), spatial_scale), offset)
  start_h = torch.sub(torch.mul(torch.select(roi, 0, 2), spatial_scale), offset)
  roi_width = torch.sub(torch.sub(torch.mul(torch.select(roi, 0, 3), spatial_scale), offset), start_w)
  roi_height = torch.sub(torch.sub(torch.mul(torch.select(roi, 0, 4), spatial_scale), offset), start_h)
  if not aligned:
    roi_width = torch.clamp(roi_width, 1.)
    roi_height = torch.clamp(roi_height, 1.)
  bin_h = torch.div(roi_height, pooled_height)
  bin_w = torch.div(roi_width, pooled_width)
  grid_h = sampling_ratio
  grid_w = sampling_ratio
  if sampling_ratio <= 0:
    grid_h = int(torch.ceil(torch.div(roi_height, pooled_height)))
    grid_w = int(torch.ceil(torch.div(roi_width, pooled_width)))
  if grid_h <= 0 or grid_w <= 0:
    return (torch.zeros([channels, pooled_height, pooled_width], dtype=ops.prim.dtype(image)), 0)
  valid_y, y_low, y_high, ly_low, ly_high = __torch__.modelforge_torchvision_ops._bilinear_axis(__torch__.modelforge_torchvision_ops._roi_sample_coords(start_h, bin_h, pooled_height, grid_h), torch.size(image, 1))
  valid_x, x_low, x_high, lx_low, lx_high = __torch__.modelforge_torchvision_ops._bilinear_axis(__torch__.modelforge_torchvision_ops._roi_sample_coords(start_w, bin_w, pooled_width, grid_w), torch.size(image, 2))
  rows_low = torch.index_select(image, 1, y_low)
  rows_high = torch.index_select(image, 1, y_high)
  ly_low = torch.unsqueeze(ly_low, 1)
  ly_high = torch.unsqueeze(ly_high, 1)
  lx_low = torch.unsqueeze(lx_low, 0)
  lx_high = torch.unsqueeze(lx_high, 0)
  _1 = torch.mul(torch.mul(ly_low, lx_low), torch.index_select(rows_low, 2, x_low))
  _2 = torch.mul(torch.mul(ly_low, lx_high), torch.index_select(rows_low, 2, x_high))
  _3 = torch.mul(torch.mul(ly_high, lx_low), torch.index_select(rows_high, 2, x_low))
  _4 = torch.mul(torch.mul(ly_high, lx_high), torch.index_select(rows_high, 2, x_high))
  samples = torch.add(torch.add(torch.add(_1, _2), _3), _4)
  valid = torch.logical_and(torch.unsqueeze(valid_y, 1), torch.unsqueeze(valid_x, 0))
  samples = torch.where(valid, samples, torch.zeros_like(samples))
  binned = torch.reshape(samples, [channels, pooled_height, grid_h, pooled_width, grid_w])
  return (torch.sum(binned, [2, 4]), grid_h * grid_w)


def roi_align(input: Tensor,
    rois: Tensor,
    spatial_scale: float,
    pooled_height: int,
    pooled_width: int,
    sampling_ratio: int,
    aligned: bool) -> Tensor:
  # torchvision's CPU kernel, in aten ops: each bin's average of its samples (0 for a box with none).
  output = torch.zeros([torch.size(rois, 0), torch.size(input, 1), pooled_height, pooled_width], dtype=ops.prim.dtype(input), device=ops.prim.device(input))
  for n in range(torch.size(rois, 0)):
    roi = torch.select(rois, 0, n)
    image = torch.select(input, 0, int(torch.select(roi, 0, 0)))
    sums, samples = __torch__.modelforge_torchvision_ops._roi_bin_sums(image, roi, spatial_scale, pooled_height, pooled_width, sampling_ratio, aligned)
    _5 = torch.copy_(torch.select(output, 0, n), torch.div(sums, max(samples, 1)))
  return output


def _position_sensitive(bins: Tensor,
    pooled_height: int,
    pooled_width: int) -> Tensor:
  # Output channel c, bin (ph, pw) reads input channel (c * pooled_height + ph) * pooled_width + pw: the diagonal of
  # [channels_out, bins, bins].
  cells = pooled_height * pooled_width
  by_cell = torch.reshape(bins, [-1, cells, cells])
  return torch.reshape(torch.diagonal(by_cell, 0, 1, 2), [-1, pooled_height, pooled_width])


def _position_sensitive_output(input: Tensor,
    rois: Tensor,
    pooled_height: int,
    pooled_width: int) -> Tensor:
  # zeros, [rois, channels / bins, pooled_height, pooled_width]
  channels_out = torch.floordiv(torch.size(input, 1), pooled_height * pooled_width)
  return torch.zeros([torch.size(rois, 0), channels_out, pooled_height, pooled_width], dtype=ops.prim.dtype(input), device=ops.prim.device(input))


def _channel_mapping(output: Tensor) -> Tensor:
  # the input channel each output element read, (c * pooled_height + ph) * pooled_width + pw, as int32
  shape = torch.size(output)
  mapping = torch.reshape(torch.arange(shape[1] * shape[2] * shape[3], dtype=3), [1, shape[1], shape[2], shape[3]])
  return torch.expand(mapping, shape)


def ps_roi_align(input: Tensor,
    rois: Tensor,
    spatial_scale: float,
    pooled_height: int,
    pooled_width: int,
    sampling_ratio: int) -> Tuple[Tensor, Tensor]:
  # torchvision's CPU kernel, in aten ops: roi_align with the half-pixel shift, where output channel c's bin (ph, pw)
  # samples input channel (c * pooled_height + ph) * pooled_width + pw, and that channel mapping (int32).
  output = __torch__.modelforge_torchvision_ops._position_sensitive_output(input, rois, pooled_height, pooled_width)
  for n in range(torch.size(rois, 0)):
    roi = torch.select(rois, 0, n)
    image = torch.select(input, 0, int(torch.select(roi, 0, 0)))
    sums, samples = __torch__.modelforge_torchvision_ops._roi_bin_sums(image, roi, spatial_scale, pooled_height, pooled_width, sampling_ratio, True)
    averages = torch.div(__torch__.modelforge_torchvision_ops._position_sensitive(sums, pooled_height, pooled_width), samples)
    _6 = torch.copy_(torch.select(output, 0, n), averages)
  return (output, __torch__.modelforge_torchvision_ops._channel_mapping(output))


def _round_half_away(value: Tensor) -> int:
  # std::round, which the kernel uses: halves go away from zero (torch.round goes to even)
  truncated = torch.trunc(value)
  if bool(torch.eq(torch.abs(torch.sub(value, truncated)), 0.5)):
    return int(torch.add(truncated, torch.sign(value)))
  return int(torch.round(value))


def _rounded_bins(roi: Tensor,
    spatial_scale: float,
    pooled_height: int,
    pooled_width: int,
    size_extra: int,
    last_row: int,
    last_column: int) -> List[Tuple[int, int, int, int, int, int]]:
  # The bins of torchvision's roi_pool and ps_roi_pool kernels: the box rounded to whole pixels, its size
  # end - start + size_extra (at least 1), bins from the floor of their start to the ceil of their end, kept inside
  # [0, last]. Returns the non-empty ones as (ph, pw, h_start, h_end, w_start, w_end).
  start_w = __torch__.modelforge_torchvision_ops._round_half_away(torch.mul(torch.select(roi, 0, 1), spatial_scale))
  start_h = __torch__.modelforge_torchvision_ops._round_half_away(torch.mul(torch.select(roi, 0, 2), spatial_scale))
  end_w = __torch__.modelforge_torchvision_ops._round_half_away(torch.mul(torch.select(roi, 0, 3), spatial_scale))
  end_h = __torch__.modelforge_torchvision_ops._round_half_away(torch.mul(torch.select(roi, 0, 4), spatial_scale))
  bin_h = torch.div(torch.tensor(max(end_h - start_h + size_extra, 1), dtype=ops.prim.dtype(roi)), pooled_height)
  bin_w = torch.div(torch.tensor(max(end_w - start_w + size_extra, 1), dtype=ops.prim.dtype(roi)), pooled_width)
  bins = annotate(List[Tuple[int, int, int, int, int, int]], [])
  for ph in range(pooled_height):
    h_start = min(max(int(torch.floor(torch.mul(bin_h, ph))) + start_h, 0), last_row)
    h_end = min(max(int(torch.ceil(torch.mul(bin_h, ph + 1))) + start_h, 0), last_row)
    for pw in range(pooled_width):
      w_start = min(max(int(torch.floor(torch.mul(bin_w, pw))) + start_w, 0), last_column)
      w_end = min(max(int(torch.ceil(torch.mul(bin_w, pw + 1))) + start_w, 0), last_column)
      if h_end > h_start and w_end > w_start:
        _9 = torch.append(bins, (ph, pw, h_start, h_end, w_start, w_end))
  return bins


def roi_pool(input: Tensor,
    rois: Tensor,
    spatial_scale: float,
    pooled_height: int,
    pooled_width: int) -> Tuple[Tensor, Tensor]:
  # torchvision's CPU kernel, in aten ops: each bin of the rounded box (its end pixel included) gives its maximum and
  # where it is (h * width + w, the first one on ties); an empty bin gives 0 and -1 (argmax is int32, as in torchvision).
  channels = torch.size(input, 1)
  width = torch.size(input, 3)
  shape = [torch.size(rois, 0), channels, pooled_height, pooled_width]
  output = torch.zeros(shape, dtype=ops.prim.dtype(input), device=ops.prim.device(input))
  argmax = torch.full(shape, -1, dtype=3, device=ops.prim.device(input))
  for n in range(torch.size(rois, 0)):
    roi = torch.select(rois, 0, n)
    image = torch.select(input, 0, int(torch.select(roi, 0, 0)))
    for ph, pw, h_start, h_end, w_start, w_end in __torch__.modelforge_torchvision_ops._rounded_bins(roi, spatial_scale, pooled_height, pooled_width, 1, torch.size(input, 2), width):
      region = torch.slice(torch.slice(image, 1, h_start, h_end), 2, w_start, w_end)
      values, places = torch.max(torch.reshape(region, [channels, -1]), 1)
      region_width = w_end - w_start
      _6 = torch.copy_(torch.select(torch.select(torch.select(output, 0, n), 1, ph), 1, pw), values)
      flat_index = torch.add(torch.mul(torch.add(torch.floor_divide(places, region_width), h_start), width), torch.add(torch.remainder(places, region_width), w_start))
      _7 = torch.copy_(torch.select(torch.select(torch.select(argmax, 0, n), 1, ph), 1, pw), flat_index)
  return (output, argmax)


def ps_roi_pool(input: Tensor,
    rois: Tensor,
    spatial_scale: float,
    pooled_height: int,
    pooled_width: int) -> Tuple[Tensor, Tensor]:
  # torchvision's CPU kernel, in aten ops: the bins of the rounded box (its end pixel left out, kept inside
  # [0, size - 1]); output channel c's bin (ph, pw) averages input channel (c * pooled_height + ph) * pooled_width + pw
  # over it (0 for an empty bin), with that channel mapping.
  output = __torch__.modelforge_torchvision_ops._position_sensitive_output(input, rois, pooled_height, pooled_width)
  for n in range(torch.size(rois, 0)):
    roi = torch.select(rois, 0, n)
    image = torch.select(input, 0, int(torch.select(roi, 0, 0)))
    for ph, pw, h_start, h_end, w_start, w_end in __torch__.modelforge_torchvision_ops._rounded_bins(roi, spatial_scale, pooled_height, pooled_width, 0, torch.size(input, 2) - 1, torch.size(input, 3) - 1):
      channels = torch.slice(image, 0, ph * pooled_width + pw, None, pooled_height * pooled_width)
      region = torch.slice(torch.slice(channels, 1, h_start, h_end), 2, w_start, w_end)
      average = torch.div(torch.sum(region, [1, 2]), (h_end - h_start) * (w_end - w_start))
      _8 = torch.copy_(torch.select(torch.select(torch.select(output, 0, n), 1, ph), 1, pw), average)
  return (output, __torch__.modelforge_torchvision_ops._channel_mapping(output))


def _deform_axis(out_size: int,
    stride: int,
    pad: int,
    tap_shifts: Tensor,
    shape: List[int],
    offset: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
  # One axis of deform_conv2d's sampling points, [batch, offset_groups, taps, out_h, out_w]: out * stride - pad + the tap's
  # shift (its row or column times the dilation; out laid out by `shape`), converted to the offset's dtype and plus the
  # offset, as the kernel adds them. Returns the points, their floor and the next pixel (int64), and the weights of those two.
  outs = torch.sub(torch.mul(torch.arange(out_size, dtype=4, device=ops.prim.device(offset)), stride), pad)
  whole = torch.add(torch.reshape(outs, shape), torch.reshape(tap_shifts, [-1, 1, 1]))
  points = torch.add(torch.to(whole, ops.prim.dtype(offset)), offset)
  floor = torch.floor(points)
  high_weight = torch.sub(points, floor)
  low = torch.to(floor, 4)
  return (points, low, torch.add(low, 1), torch.rsub(high_weight, 1.), high_weight)


def _deform_corner(image: Tensor,
    rows: Tensor,
    columns: Tensor) -> Tensor:
  # The pixels at (rows, columns), int64 [batch, offset_groups, taps, out_h, out_w], of image [batch, offset_groups,
  # channels per offset group, height, width], as [batch, offset_groups, channels, taps, out_h, out_w]; 0 where the
  # pixel is outside the image, which deform_conv2d's bilinear_interpolate does not read.
  shape = torch.size(image)
  height = shape[3]
  width = shape[4]
  inside = torch.logical_and(torch.logical_and(torch.ge(rows, 0), torch.lt(rows, height)), torch.logical_and(torch.ge(columns, 0), torch.lt(columns, width)))
  places = torch.add(torch.mul(torch.clamp(rows, 0, height - 1), width), torch.clamp(columns, 0, width - 1))
  samples = torch.size(places)
  count = samples[2] * samples[3] * samples[4]
  index = torch.expand(torch.reshape(places, [shape[0], shape[1], 1, count]), [shape[0], shape[1], shape[2], count])
  values = torch.gather(torch.reshape(image, [shape[0], shape[1], shape[2], height * width]), 3, index)
  values = torch.reshape(values, [shape[0], shape[1], shape[2], samples[2], samples[3], samples[4]])
  return torch.where(torch.unsqueeze(inside, 2), values, torch.zeros_like(values))


def deform_conv2d(input: Tensor,
    weight: Tensor,
    offset: Tensor,
    mask: Tensor,
    bias: Tensor,
    stride_h: int,
    stride_w: int,
    pad_h: int,
    pad_w: int,
    dilation_h: int,
    dilation_w: int,
    groups: int,
    offset_groups: int,
    use_mask: bool) -> Tensor:
  # torchvision's CPU kernel, in aten ops. Tap (i, j) of output pixel (y, x) samples its offset group's channels at
  # (y * stride_h - pad_h + i * dilation_h + dy, x * stride_w - pad_w + j * dilation_w + dx), (dy, dx) at offset channels
  # 2 * (i * kernel_w + j) and the next of the group's block: bilinearly, 0 for a point at or beyond -1 or the size,
  # each corner outside the image counted 0; times the mask there (use_mask). The columns, [channel, tap] by pixel, are
  # then a grouped matrix product with the weights, plus the bias.
  batch = torch.size(input, 0)
  channels = torch.size(input, 1)
  height = torch.size(input, 2)
  width = torch.size(input, 3)
  out_channels = torch.size(weight, 0)
  kernel_h = torch.size(weight, 2)
  kernel_w = torch.size(weight, 3)
  taps = kernel_h * kernel_w
  out_h = torch.floordiv(height + 2 * pad_h - (dilation_h * (kernel_h - 1) + 1), stride_h) + 1
  out_w = torch.floordiv(width + 2 * pad_w - (dilation_w * (kernel_w - 1) + 1), stride_w) + 1
  tap = torch.arange(taps, dtype=4, device=ops.prim.device(input))
  offsets = torch.reshape(offset, [batch, offset_groups, taps, 2, out_h, out_w])
  y, y_low, y_high, hy, ly = __torch__.modelforge_torchvision_ops._deform_axis(out_h, stride_h, pad_h, torch.mul(torch.floor_divide(tap, kernel_w), dilation_h), [1, out_h, 1], torch.select(offsets, 3, 0))
  x, x_low, x_high, hx, lx = __torch__.modelforge_torchvision_ops._deform_axis(out_w, stride_w, pad_w, torch.mul(torch.remainder(tap, kernel_w), dilation_w), [1, 1, out_w], torch.select(offsets, 3, 1))
  image = torch.reshape(input, [batch, offset_groups, torch.floordiv(channels, offset_groups), height, width])
  top_left = torch.mul(torch.unsqueeze(torch.mul(hy, hx), 2), __torch__.modelforge_torchvision_ops._deform_corner(image, y_low, x_low))
  top_right = torch.mul(torch.unsqueeze(torch.mul(hy, lx), 2), __torch__.modelforge_torchvision_ops._deform_corner(image, y_low, x_high))
  bottom_left = torch.mul(torch.unsqueeze(torch.mul(ly, hx), 2), __torch__.modelforge_torchvision_ops._deform_corner(image, y_high, x_low))
  bottom_right = torch.mul(torch.unsqueeze(torch.mul(ly, lx), 2), __torch__.modelforge_torchvision_ops._deform_corner(image, y_high, x_high))
  sampled = torch.add(torch.add(torch.add(top_left, top_right), bottom_left), bottom_right)
  outside = torch.logical_or(torch.logical_or(torch.le(y, -1.), torch.ge(y, height)), torch.logical_or(torch.le(x, -1.), torch.ge(x, width)))
  sampled = torch.where(torch.unsqueeze(outside, 2), torch.zeros_like(sampled), sampled)
  if use_mask:
    sampled = torch.mul(torch.unsqueeze(torch.reshape(mask, [batch, offset_groups, taps, out_h, out_w]), 2), sampled)
  columns = torch.reshape(sampled, [batch, groups, torch.floordiv(channels, groups) * taps, out_h * out_w])
  kernels = torch.reshape(weight, [groups, torch.floordiv(out_channels, groups), torch.floordiv(channels, groups) * taps])
  output = torch.reshape(torch.matmul(kernels, columns), [batch, out_channels, out_h, out_w])
  return torch.add(output, torch.reshape(bias, [1, out_channels, 1, 1]))
