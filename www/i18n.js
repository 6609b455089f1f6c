// Every word <siamese-digits> shows, one table per language, and the lookup. The
// element's language is its `lang` attribute, else the nearest `lang` above it (the
// page's), else English; any `zh-…` tag is Chinese. To add a language, add a table
// with every key of `en` (a missing key falls back to English) and its code to
// TABLES. An entry is a string with `{name}` slots, or a function of the parameters
// where the words depend on them (plurals, lists). Messages are `{ key, params }`
// (msg(), failure()), so that what is shown can be said again in another language;
// a plain string (an engine's message) is shown as it is. The DOM is only read by
// languageOf() and written by localize().

/** "1 step", "2 steps". */
const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

const en = {
  tag: 'en',
  gap: ' ', // between sentences
  // The pads and the distance
  padLabel: 'Drawing pad {pad}: draw a digit, or type one to place a sample of it; Ctrl+Z undoes, Delete clears',
  clear: 'Clear',
  undo: 'Undo',
  seenTitle: 'What the network sees (28×28)',
  seenLabel: 'What the network sees of pad {pad}',
  typedNote: 'typed {digit}: an MNIST sample',
  backend: 'Backend',
  network: 'Network',
  'network-default': 'ours (default)',
  'network-seed': "the post's (seed, 2-D)",
  switchingNetwork: 'Switching to {network}…',
  networkNow: 'Now answering: {network}.',
  couldNotSwitchNetwork: 'Could not switch the network: {error}',
  'backend-auto': 'auto',
  'backend-webgpu': 'webgpu',
  'backend-cpu': 'cpu',
  'badge-loading': 'loading…',
  'badge-webgpu': 'webgpu (GPU)',
  'badge-cpu': 'cpu',
  runningOnLabel: 'Running on {backend}',
  runningOnLabelWhy: 'Running on {backend} — {reason}',
  distance: 'Distance',
  noDistance: 'no distance yet',
  threshold: 'threshold',
  thresholdValue: 'threshold {value}',
  scaleIdentical: '0 · identical',
  scaleFar: 'far apart',
  drawBoth: 'Draw a digit on each pad.',
  drawOther: 'Now draw a digit on pad {pad}.',
  modelLoading: 'The model is loading…',
  same: 'same digit',
  different: 'different digits',
  meterText: '{distance}, {verdict}',
  // The status line
  waiting: 'Waiting to load…',
  loadingModel: 'Loading the model…',
  ready: 'Ready.',
  tryAgain: 'Try again',
  couldNotStart: 'Could not start the model: {error}',
  switching: 'Switching to {backend}…',
  onCpu: 'On the CPU: {reason}',
  runningOn: 'Running on {backend}.',
  couldNotSwitch: 'Could not switch: {error}',
  couldNotCompute: 'Could not compute the distance: {error}',
  couldNotPlace: 'Could not place a sample: {error}',
  engineSays: '{error}',
  // The map
  mapTitle: 'Where the drawings land',
  mapHint: "Held-out MNIST digits, placed by the network's embedding (first two principal components). A and B are your drawings.",
  mapHintPlane: "Held-out MNIST digits in the network's own plane: its embedding is 2-D, shown as it is, not projected. A and B are your drawings.",
  mapLabel: 'Embedding map',
  legendLabel: 'Colours of the digits on the map',
  mapPad: ({ pad, digits }) => `pad ${pad} lands among ${digits.join(', ')}`,
  mapSummary: ({ parts }) => `Nearest held-out digits, closest first: ${parts.join('; ')}.`,
  lossMax: 'max {value}',
  // The gallery
  galleryTitle: 'Name your own drawings',
  galleryHint: 'Draw anything — a letter, a symbol, your initials —, name it and add it: one drawing is enough. Each pad is then matched against the gallery, or called none of these when nothing in it is close. Enter in the name adds pad A.',
  name: 'Name',
  addPad: 'Add pad {pad}',
  galleryLabel: 'Gallery',
  galleryDownload: 'Download gallery',
  galleryOpen: 'Open a gallery',
  galleryClear: 'Clear gallery',
  galleryCount: ({ n }) => `${plural(n, 'reference')} in the gallery.`,
  galleryEmpty: 'The gallery is empty.',
  matchEmpty: 'Pad {pad}: the gallery is empty; add a drawing to match against.',
  matchDraw: 'Pad {pad}: draw something to match it.',
  matchFound: ({ pad, best, next }) => `Pad ${pad}: ${named(best)}.${next.length ? ` Next: ${next.map(named).join(', ')}.` : ''}`,
  matchNone: ({ pad, best, next }) => `Pad ${pad}: none of these (nearest: “${best.name}”, ${best.distance.toFixed(3)}).${next.length ? ` Next: ${next.map(named).join(', ')}.` : ''}`,
  removeReference: 'Remove “{name}”',
  serverAnswered: 'the server answered {status}',
  pageGalleryNotLoaded: "This page's gallery could not be loaded ({error}); yours works as before.",
  pageGalleryAdded: ({ n }) => `Added this page's gallery: ${plural(n, 'reference')}.`,
  pageGalleryNotAdded: "This page's gallery could not be added: {error}.",
  referenceAdded: 'Added pad {pad} to the gallery as “{name}”.',
  referenceNotAdded: 'Not added: {error}.',
  removing: 'Removing “{name}”…',
  removed: 'Removed “{name}” from the gallery.',
  couldNotRemove: 'Could not remove “{name}”: {error}',
  confirmClear: ({ n }) => `Remove all ${plural(n, 'reference')} from the gallery? Download it first to keep a copy.`,
  clearing: 'Clearing the gallery…',
  couldNotClear: 'Could not clear the gallery: {error}',
  couldNotExportGallery: 'Could not export the gallery: {error}',
  opening: 'Opening {file}…',
  galleryNotOpened: '{file} was not opened: {error}. Your gallery stays.',
  galleryOpened: ({ file, n }) => `Opened ${file}: ${plural(n, 'reference')} added.`,
  // The studio
  studioTitle: 'Teach it your handwriting',
  studioHint: 'Label what a pad shows, or mark the pair, then train. Your examples are mixed with MNIST digits so the rest is not forgotten.',
  padIs: '{pad} is',
  padShows: 'Pad {pad} shows {digit}',
  pairSame: 'A and B: same digit',
  pairDifferent: 'A and B: different digits',
  trainingSet: 'Training set',
  loss: 'Loss',
  'loss-contrastive': 'contrastive',
  'loss-triplet': 'triplet',
  steps: 'Steps',
  learningRate: 'Learning rate',
  train: 'Train',
  stop: 'Stop',
  lossChart: 'Loss per training step',
  pairAccuracy: 'Pair accuracy',
  before: 'before',
  after: 'after',
  yourExamples: 'your examples',
  validationSample: 'MNIST validation sample',
  savedModels: 'Saved models',
  savedHint: 'Every model you train or upload is kept in this browser, newest first; so is yours when a new shipped model replaces it.',
  reset: 'Reset to the shipped model',
  downloadWeights: 'Download weights',
  uploadWeights: 'Upload weights',
  downloadSession: 'Download my session',
  openSession: 'Open a session',
  testingAids: 'Testing aids:',
  loseGpu: 'Simulate GPU loss',
  loseGpuTitle: 'Destroys the WebGPU device, as a driver reset would',
  crash: 'Simulate an engine crash',
  crashTitle: 'The engine panics, as a bug in it would',
  modelEarlier: 'the model saved by an earlier version of this page',
  modelSaved: 'the model saved {date}',
  padEmpty: 'Pad {pad} is empty: draw a {label} first.',
  exampleAdded: 'Added pad {pad} as a {label}.',
  drawBothForPair: 'Draw on both pads to mark a pair.',
  pairAddedSame: 'Added the pair as the same digit.',
  pairAddedDifferent: 'Added the pair as different digits.',
  removeExample: 'Remove example {label}',
  removePair: 'Remove pair',
  modelsUnreadable: 'Your saved models could not be read: {problem}.',
  dateUnknown: 'date unknown',
  releaseEarlier: 'an earlier release',
  release: 'release {release}',
  releaseCurrent: 'release {release} (current)',
  stepsUnknown: 'steps unknown',
  stepCount: ({ n }) => plural(n, 'step'),
  notScored: 'not scored',
  accuracyOnYours: '{percent} on your examples',
  restore: 'Restore',
  restoreModel: 'Restore {model}',
  notTrained: 'Not trained: {error}',
  scoringBefore: 'Scoring the model before training…',
  trainingStep: 'Training: step {step} of {steps}, loss {loss}',
  doneAfter: ({ n }) => `Done after ${plural(n, 'step')}`,
  stoppedAfter: ({ n }) => `Stopped after ${plural(n, 'step')}`,
  trainedSaved: '{ended}; the fine-tuned model is saved in this browser.',
  trainedNotSaved: '{ended}, but the model could not be saved in this browser: {problem}. What was saved before is kept.',
  trainingStopped: 'Training stopped: {error}',
  restoring: 'Restoring {model}…',
  restored: 'Restored {model}.',
  couldNotRestore: 'Could not restore {model}: {error}. The current model stays.',
  resetting: 'Resetting…',
  backToShipped: ({ examples, models }) => `Back to the shipped model. Kept: your ${plural(examples, 'training example')} and ${plural(models, 'saved model')}.`,
  couldNotReset: 'Could not reset: {error}',
  couldNotExportWeights: 'Could not export the weights: {error}',
  couldNotExportSession: 'Could not export the session: {error}',
  loadingFile: 'Loading {file}…',
  weightsNotLoaded: '{file} was not loaded: {error}. The current model stays.',
  loadedNotKept: 'Loaded {file}, but it could not be added to Saved models: {problem}.',
  loadedKept: 'Loaded {file}; it is kept under Saved models.',
  loadedBut: 'Loaded {file}, but: {error}',
  sessionNotOpened: '{file} was not opened: {error}. Your session stays.',
  sessionOpened: ({ file, examples, steps }) => `Opened ${file}: ${plural(examples, 'training example')}, a model after ${plural(steps, 'fine-tuning step')}.`,
  setAsideKept: 'The shipped model was updated since that session was fine-tuned; its model is kept under Saved models.',
  setAsideNotKept: 'The shipped model was updated since that session was fine-tuned, and its model could not be added to Saved models ({problem}); the file still has it.',
  mapNotRedrawn: 'The map could not be redrawn: {error}',
  // The session kept in this browser (saved.js)
  storageRefused: "this browser's storage refused it ({name}: {message})",
  sessionUnreadable: 'Your saved session could not be read: {problem}.',
  shippedUpdatedKept: 'The shipped model was updated since you fine-tuned yours; yours is kept under Saved models.',
  shippedUpdatedNotKept: 'The shipped model was updated since you fine-tuned yours, and yours could not be added to Saved models ({problem}); it stays in your saved session for the next visit, and nothing is saved in this one.',
  restoredTuned: 'Restored your fine-tuned model.',
  savedSessionNotOpened: 'Your saved session could not be opened ({error}); the shipped model is in use. Your saved models are kept.',
  restoredExamples: ({ n }) => `Restored ${plural(n, 'training example')}.`,
  restoredReferences: ({ n }) => `Restored ${plural(n, 'reference')} in your gallery.`,
  examplesDropped: ({ n }) => `${n} saved example${n === 1 ? ' was' : 's were'} unreadable and dropped.`,
  sessionNotSaved: 'Your session could not be saved: {problem}. What was saved before is kept.',
  notSavedHere: 'It could not be saved in this browser: {problem}. What was saved before is kept.',
  // The engine's worker and its client
  movedToCpu: 'Moved to the CPU: {reason}',
  lastSessionNotReopened: 'Your last session could not be reopened ({error}); the engine starts from the shipped model.',
  engineRestarted: 'The engine stopped ({reason}) and was restarted. {reopened}',
  restartKept: 'It has your last model and training set.',
  engineKeepsStopping: 'The engine keeps stopping ({reason}). Reload the page to try again.',
  engineNotRestarted: 'The engine stopped and could not be restarted: {error}',
};

const zh = {
  tag: 'zh-Hans',
  gap: '',
  padLabel: '绘图板 {pad}：画一个数字，或按数字键放一个该数字的样本；Ctrl+Z 撤销，删除键清除',
  clear: '清除',
  undo: '撤销',
  seenTitle: '网络看到的图像（28×28）',
  seenLabel: '绘图板 {pad} 在网络眼中的样子',
  typedNote: '键入了 {digit}：一个 MNIST 样本',
  backend: '后端',
  network: '网络',
  'network-default': '我们的（默认）',
  'network-seed': '原文的（二维）',
  switchingNetwork: '正在切换到{network}…',
  networkNow: '现在回答的是：{network}。',
  couldNotSwitchNetwork: '无法切换网络：{error}',
  'backend-auto': '自动',
  'backend-webgpu': 'WebGPU',
  'backend-cpu': 'CPU',
  'badge-loading': '加载中…',
  'badge-webgpu': 'WebGPU（GPU）',
  'badge-cpu': 'CPU',
  runningOnLabel: '正在 {backend} 上运行',
  runningOnLabelWhy: '正在 {backend} 上运行——{reason}',
  distance: '距离',
  noDistance: '还没有距离',
  threshold: '阈值',
  thresholdValue: '阈值 {value}',
  scaleIdentical: '0 · 完全相同',
  scaleFar: '相距很远',
  drawBoth: '请在两个绘图板上各画一个数字。',
  drawOther: '现在请在绘图板 {pad} 上画一个数字。',
  modelLoading: '模型正在加载…',
  same: '同一个数字',
  different: '不同的数字',
  meterText: '{distance}，{verdict}',
  waiting: '等待加载…',
  loadingModel: '正在加载模型…',
  ready: '准备就绪。',
  tryAgain: '重试',
  couldNotStart: '无法启动模型：{error}',
  switching: '正在切换到 {backend}…',
  onCpu: '在 CPU 上运行：{reason}',
  runningOn: '正在 {backend} 上运行。',
  couldNotSwitch: '无法切换：{error}',
  couldNotCompute: '无法计算距离：{error}',
  couldNotPlace: '无法放置样本：{error}',
  engineSays: '{error}',
  mapTitle: '你的画落在哪里',
  mapHint: '未参与训练的 MNIST 数字，按网络给出的嵌入排布（取前两个主成分）。A 和 B 是你的画。',
  mapHintPlane: '未参与训练的 MNIST 数字，位于网络自己的平面上：它的嵌入是二维的，原样显示，未经投影。A 和 B 是你的画。',
  mapLabel: '嵌入图',
  legendLabel: '图中各数字的颜色',
  mapPad: ({ pad, digits }) => `绘图板 ${pad} 落在 ${digits.join('、')} 之间`,
  mapSummary: ({ parts }) => `离它们最近的数字（由近到远，均未参与训练）：${parts.join('；')}。`,
  lossMax: '最大 {value}',
  galleryTitle: '给你的画起名字',
  galleryHint: '随便画点什么——一个字母、一个符号、你的姓名缩写——起个名字再添加：一幅就够了。之后每个绘图板上的画都会与图库比对；如果图库里没有相近的，就显示“都不是”。在名字框里按回车键会添加绘图板 A。',
  name: '名字',
  addPad: '添加绘图板 {pad}',
  galleryLabel: '图库',
  galleryDownload: '下载图库',
  galleryOpen: '打开图库',
  galleryClear: '清空图库',
  galleryCount: ({ n }) => `图库里有 ${n} 个参照。`,
  galleryEmpty: '图库是空的。',
  matchEmpty: '绘图板 {pad}：图库是空的；先添加一幅画，才能比对。',
  matchDraw: '绘图板 {pad}：画点什么来比对。',
  matchFound: ({ pad, best, next }) => `绘图板 ${pad}：${namedZh(best)}。${next.length ? `其次：${next.map(namedZh).join('、')}。` : ''}`,
  matchNone: ({ pad, best, next }) => `绘图板 ${pad}：都不是（最近的是“${best.name}”，${best.distance.toFixed(3)}）。${next.length ? `其次：${next.map(namedZh).join('、')}。` : ''}`,
  removeReference: '移除“{name}”',
  serverAnswered: '服务器返回了 {status}',
  pageGalleryNotLoaded: '无法加载此页面的图库（{error}）；你自己的图库照常可用。',
  pageGalleryAdded: ({ n }) => `已添加此页面的图库：${n} 个参照。`,
  pageGalleryNotAdded: '无法添加此页面的图库：{error}。',
  referenceAdded: '已将绘图板 {pad} 以“{name}”为名加入图库。',
  referenceNotAdded: '未添加：{error}。',
  removing: '正在移除“{name}”…',
  removed: '已从图库中移除“{name}”。',
  couldNotRemove: '无法移除“{name}”：{error}',
  confirmClear: ({ n }) => `要从图库中移除全部 ${n} 个参照吗？如果想保留一份，请先下载。`,
  clearing: '正在清空图库…',
  couldNotClear: '无法清空图库：{error}',
  couldNotExportGallery: '无法导出图库：{error}',
  opening: '正在打开 {file}…',
  galleryNotOpened: '{file} 没有打开：{error}。你的图库保持不变。',
  galleryOpened: ({ file, n }) => `已打开 ${file}：添加了 ${n} 个参照。`,
  studioTitle: '教它认识你的笔迹',
  studioHint: '标注绘图板上画的是哪个数字，或标记这一对，然后训练。你的样例会与 MNIST 数字混在一起训练，这样它不会忘掉原来学会的。',
  padIs: '{pad} 是',
  padShows: '绘图板 {pad} 上是 {digit}',
  pairSame: 'A 和 B：同一个数字',
  pairDifferent: 'A 和 B：不同的数字',
  trainingSet: '训练集',
  loss: '损失函数',
  'loss-contrastive': '对比损失',
  'loss-triplet': '三元组损失',
  steps: '步数',
  learningRate: '学习率',
  train: '训练',
  stop: '停止',
  lossChart: '每个训练步的损失',
  pairAccuracy: '配对准确率',
  before: '训练前',
  after: '训练后',
  yourExamples: '你的样例',
  validationSample: 'MNIST 验证样本',
  savedModels: '已保存的模型',
  savedHint: '你训练或上传的每个模型都保存在这个浏览器里，最新的排在最前；自带的模型更新后，你原来的模型也会留在这里。',
  reset: '重置为自带的模型',
  downloadWeights: '下载权重',
  uploadWeights: '上传权重',
  downloadSession: '下载我的会话',
  openSession: '打开会话',
  testingAids: '测试辅助：',
  loseGpu: '模拟 GPU 丢失',
  loseGpuTitle: '销毁 WebGPU 设备，就像驱动程序重置时那样',
  crash: '模拟引擎崩溃',
  crashTitle: '让引擎崩溃，就像其中有缺陷时那样',
  modelEarlier: '此页面的早期版本保存的模型',
  modelSaved: '{date} 保存的模型',
  padEmpty: '绘图板 {pad} 是空的：请先画一个 {label}。',
  exampleAdded: '已将绘图板 {pad} 添加为 {label}。',
  drawBothForPair: '请先在两个绘图板上都画好，再标记一对。',
  pairAddedSame: '已将这一对添加为同一个数字。',
  pairAddedDifferent: '已将这一对添加为不同的数字。',
  removeExample: '移除样例 {label}',
  removePair: '移除这一对',
  modelsUnreadable: '无法读取你保存的模型：{problem}。',
  dateUnknown: '日期未知',
  releaseEarlier: '早期版本',
  release: '版本 {release}',
  releaseCurrent: '版本 {release}（当前）',
  stepsUnknown: '步数未知',
  stepCount: ({ n }) => `${n} 步`,
  notScored: '未评分',
  accuracyOnYours: '在你的样例上为 {percent}',
  restore: '恢复',
  restoreModel: '恢复{model}',
  notTrained: '未训练：{error}',
  scoringBefore: '正在为训练前的模型评分…',
  trainingStep: '训练中：第 {step} 步，共 {steps} 步，损失 {loss}',
  doneAfter: ({ n }) => `完成了 ${n} 步训练`,
  stoppedAfter: ({ n }) => `训练 ${n} 步后已停止`,
  trainedSaved: '{ended}；微调后的模型已保存在这个浏览器里。',
  trainedNotSaved: '{ended}，但模型无法保存在这个浏览器里：{problem}。之前保存的内容仍然保留。',
  trainingStopped: '训练中断：{error}',
  restoring: '正在恢复{model}…',
  restored: '已恢复{model}。',
  couldNotRestore: '无法恢复{model}：{error}。当前模型保持不变。',
  resetting: '正在重置…',
  backToShipped: ({ examples, models }) => `已恢复为自带的模型。保留了：你的 ${examples} 个训练样例和 ${models} 个已保存的模型。`,
  couldNotReset: '无法重置：{error}',
  couldNotExportWeights: '无法导出权重：{error}',
  couldNotExportSession: '无法导出会话：{error}',
  loadingFile: '正在加载 {file}…',
  weightsNotLoaded: '{file} 没有加载：{error}。当前模型保持不变。',
  loadedNotKept: '已加载 {file}，但无法把它加入“已保存的模型”：{problem}。',
  loadedKept: '已加载 {file}；它保存在“已保存的模型”里。',
  loadedBut: '已加载 {file}，但是：{error}',
  sessionNotOpened: '{file} 没有打开：{error}。你的会话保持不变。',
  sessionOpened: ({ file, examples, steps }) => `已打开 ${file}：${examples} 个训练样例，一个经过 ${steps} 步微调的模型。`,
  setAsideKept: '那个会话微调之后，自带的模型已经更新；它的模型保存在“已保存的模型”里。',
  setAsideNotKept: '那个会话微调之后，自带的模型已经更新，而它的模型无法加入“已保存的模型”（{problem}）；文件里仍然有它。',
  mapNotRedrawn: '无法重新绘制嵌入图：{error}',
  storageRefused: '这个浏览器的存储拒绝了它（{name}：{message}）',
  sessionUnreadable: '无法读取你保存的会话：{problem}。',
  shippedUpdatedKept: '你微调之后，自带的模型已经更新；你的模型保存在“已保存的模型”里。',
  shippedUpdatedNotKept: '你微调之后，自带的模型已经更新，而你的模型无法加入“已保存的模型”（{problem}）；它会留在你保存的会话里供下次访问使用，这次访问不会保存任何内容。',
  restoredTuned: '已恢复你微调过的模型。',
  savedSessionNotOpened: '无法打开你保存的会话（{error}）；现在使用的是自带的模型。你保存的模型都还在。',
  restoredExamples: ({ n }) => `已恢复 ${n} 个训练样例。`,
  restoredReferences: ({ n }) => `已恢复你图库里的 ${n} 个参照。`,
  examplesDropped: ({ n }) => `有 ${n} 个保存的样例无法读取，已丢弃。`,
  sessionNotSaved: '无法保存你的会话：{problem}。之前保存的内容仍然保留。',
  notSavedHere: '它无法保存在这个浏览器里：{problem}。之前保存的内容仍然保留。',
  movedToCpu: '已改用 CPU：{reason}',
  lastSessionNotReopened: '无法重新打开你上次的会话（{error}）；引擎从自带的模型重新开始。',
  engineRestarted: '引擎停止了（{reason}），已重新启动。{reopened}',
  restartKept: '你最后的模型和训练集都还在。',
  engineKeepsStopping: '引擎一再停止（{reason}）。请重新加载页面再试。',
  engineNotRestarted: '引擎停止了，且无法重新启动：{error}',
};

/** A gallery name and its distance, as the match lines list them. */
function named({ name, distance }) { return `“${name}” (${distance.toFixed(3)})`; }
function namedZh({ name, distance }) { return `“${name}”（${distance.toFixed(3)}）`; }

const TABLES = { en, zh };

/** A message to show, in whatever language the element speaks when it shows it. */
export const msg = (key, params = {}) => ({ key, params });

/** A message that reports a failure; `recovered`: the element works on as before. */
export const failure = (key, params = {}, recovered = true) => ({ key, params, recovered });

/** An error's own words (an engine's message, say), for a message's `error` parameter. */
export const why = (e) => e?.message ?? String(e);

/** Whether `message` (a message, a string, or a list of them) reports a failure; false, or `{ recovered }`. */
export function failed(message) {
  const failures = [message].flat(Infinity).filter((m) => m?.recovered != null);
  return failures.length ? { recovered: failures.every((m) => m.recovered) } : false;
}

/**
 * The language `element` speaks: `{ code, locale }`, `code` a key of TABLES and
 * `locale` the `lang` found when it names that language (e.g. "zh-CN", for dates),
 * else undefined. The search goes up through shadow roots, for an element inside
 * another component.
 */
export function languageOf(element) {
  let tag = '';
  for (let node = element; node && !tag;) {
    const found = node.closest('[lang]');
    if (found) tag = found.getAttribute('lang');
    node = found ? null : node.getRootNode().host;
  }
  tag ||= document.documentElement.lang;
  const primary = tag.toLowerCase().split('-')[0];
  return Object.hasOwn(TABLES, primary) ? { code: primary, locale: tag } : { code: 'en', locale: undefined };
}

/**
 * The lookup for language `code`: `t(key, params)` → the words. Parameters that are
 * messages are put into words first. `t.text(message)` says a message, a plain string
 * or a list of them (sentences, joined); `t.has(key)` asks whether a key exists.
 */
export function translator(code) {
  const table = TABLES[code] ?? en;
  const say = (value) => (value?.key ? t(value.key, value.params) : value);
  function t(key, params = {}) {
    const entry = Object.hasOwn(table, key) ? table[key] : Object.hasOwn(en, key) ? en[key] : key;
    const values = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, say(v)]));
    return typeof entry === 'function' ? entry(values) : entry.replace(/\{(\w+)\}/g, (_, k) => String(values[k] ?? ''));
  }
  t.text = (message) => [message].flat(Infinity).filter((m) => m != null && m !== '').map((m) => String(say(m))).join(table.gap);
  t.has = (key) => Object.hasOwn(en, key);
  t.tag = table.tag;
  return t;
}

/**
 * Fill the words of a template: `data-t="key"` sets an element's text, and
 * `data-t-attr="aria-label:key title:key"` its attributes; `data-t-params` holds the
 * parameters as JSON. Run once after rendering and again when the language changes.
 */
export function localize(root, t) {
  for (const el of root.querySelectorAll('[data-t], [data-t-attr]')) {
    const params = el.dataset.tParams ? JSON.parse(el.dataset.tParams) : {};
    if (el.dataset.t) el.textContent = t(el.dataset.t, params);
    for (const pair of el.dataset.tAttr?.split(' ') ?? []) {
      const [attribute, key] = pair.split(':');
      el.setAttribute(attribute, t(key, params));
    }
  }
}

/** The attributes localize() reads, for a template: `key` for the text, `attributes` as `{ 'aria-label': key }`. */
export function words(key, attributes = {}, params = null) {
  const attr = Object.entries(attributes).map(([a, k]) => `${a}:${k}`).join(' ');
  return [
    key ? ` data-t="${key}"` : '',
    attr ? ` data-t-attr="${attr}"` : '',
    params ? ` data-t-params='${JSON.stringify(params)}'` : '',
  ].join('');
}
