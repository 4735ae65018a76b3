// Placeholder bundle: replaced by the Vite build of web/ (npm run build).
document.documentElement.dataset.connectplus = "placeholder";
